// The reverse-mode autograd graph: Var<T> is a shallow handle over a shared
// Node holding a value, its gradient and a backward closure (ref: micrograd's
// engine, Flashlight's Variable). backward() walks the graph in reverse
// topological order; a node reused by several ops sums their gradients.
// Gradients are never written in place, so ops may hand the same tensor to
// several parents.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "freqcap/core/tensor_ops.hpp"

namespace freqcap {

/// Whether new ops record the graph (thread-local, like PyTorch's grad mode).
inline bool& grad_mode_enabled() {
  thread_local bool enabled = true;
  return enabled;
}

/// Turns graph recording off for its scope (inference, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_mode_enabled()) { grad_mode_enabled() = false; }
  ~NoGradGuard() { grad_mode_enabled() = prev_; }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

template <class T>
struct Node {
  Tensor<T> value;
  Tensor<T> grad;
  bool has_grad = false;
  bool requires_grad = false;
  bool released = false;  ///< backward ran without retain_graph and freed the closure
  const char* op = "leaf";
  std::vector<std::shared_ptr<Node>> parents;
  /// Given this node's gradient, accumulates into the parents' gradients.
  std::function<void(const Tensor<T>&)> backward;

  void accumulate(const Tensor<T>& g) {
    FREQCAP_CHECK(g.shape() == value.shape(), "autograd (", op, "): gradient of shape ",
                  shape_str(g.shape()), " for a value of shape ", shape_str(value.shape()));
    if (!has_grad) {
      grad = g;
      has_grad = true;
    } else {
      grad = grad + g;
    }
  }
};

template <class T>
class Var {
 public:
  Var() = default;
  /// A leaf holding `value`; parameters pass requires_grad = true.
  explicit Var(Tensor<T> value, bool requires_grad = false) : node_(std::make_shared<Node<T>>()) {
    node_->value = std::move(value);
    node_->requires_grad = requires_grad;
  }

  bool defined() const { return node_ != nullptr; }
  const Tensor<T>& value() const { return node_->value; }
  /// Mutable value, for optimizers and loaders (never inside a recorded op).
  Tensor<T>& value() { return node_->value; }
  const Shape& shape() const { return node_->value.shape(); }
  std::int64_t dim(std::int64_t axis) const { return node_->value.dim(axis); }
  std::size_t ndim() const { return node_->value.ndim(); }
  T item() const { return node_->value.item(); }

  bool requires_grad() const { return node_->requires_grad; }
  void set_requires_grad(bool r) { node_->requires_grad = r; }
  bool has_grad() const { return node_->has_grad; }
  /// The accumulated gradient (zeros of the value's shape when there is none).
  Tensor<T> grad() const { return node_->has_grad ? node_->grad : Tensor<T>(shape()); }
  /// Replaces the gradient (gradient clipping, tests).
  void set_grad(Tensor<T> g) {
    node_->has_grad = false;
    node_->accumulate(g);
  }
  void zero_grad() {
    node_->grad = Tensor<T>();
    node_->has_grad = false;
  }
  /// The same value outside the graph.
  Var detach() const { return Var(node_->value, false); }
  const char* op() const { return node_->op; }
  Node<T>* node() const { return node_.get(); }

  /// Backpropagates from this one-element value (seed 1).
  void backward() {
    FREQCAP_CHECK(node_->value.numel() == 1, "backward() without a seed needs a one-element value, got shape ",
                  shape_str(shape()));
    backward(Tensor<T>(shape(), T(1)));
  }

  /// Backpropagates `seed` (same shape as the value) through the graph, then
  /// frees the graph's closures unless retain_graph.
  void backward(const Tensor<T>& seed, bool retain_graph = false) {
    FREQCAP_CHECK(node_->requires_grad, "backward() on a value that does not require grad (op ", op(), ")");
    // Shared handles: freeing a child's closure must not free a parent still to visit.
    std::vector<std::shared_ptr<Node<T>>> order;
    topo_order(node_, order);
    for (const auto& n : order)  // checked before any gradient moves
      FREQCAP_CHECK(!n->released, "backward() through the graph a second time: op '", n->op,
                    "' was freed by an earlier backward(); pass retain_graph = true to the first one");
    node_->accumulate(seed);
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      Node<T>* n = it->get();
      if (n->backward && n->has_grad) n->backward(n->grad);
      if (n->backward) {
        n->grad = Tensor<T>();  // intermediate gradients are not kept, as in PyTorch
        n->has_grad = false;    // (also with retain_graph: a later pass must not re-send them)
        if (!retain_graph) {
          n->backward = nullptr;
          n->parents.clear();
          n->released = true;
        }
      }
    }
  }

  /// Records an op result: a node whose parents are `inputs` and whose
  /// backward is `fn`, or a plain constant when no input needs a gradient or
  /// grad mode is off.
  static Var make(Tensor<T> value, const std::vector<Var>& inputs, const char* op,
                  std::function<void(const Tensor<T>&)> fn) {
    Var out(std::move(value), false);
    out.node_->op = op;
    if (!grad_mode_enabled()) return out;
    for (const auto& in : inputs)
      if (in.defined() && in.requires_grad()) out.node_->requires_grad = true;
    if (!out.node_->requires_grad) return out;
    for (const auto& in : inputs)
      if (in.defined()) out.node_->parents.push_back(in.node_);
    out.node_->backward = std::move(fn);
    return out;
  }

  /// Adds g to this node's gradient if it takes part in backward.
  void accumulate(const Tensor<T>& g) const {
    if (node_->requires_grad) node_->accumulate(g);
  }

 private:
  // Iterative post-order DFS: parents before children.
  static void topo_order(const std::shared_ptr<Node<T>>& root, std::vector<std::shared_ptr<Node<T>>>& order) {
    std::unordered_set<Node<T>*> seen{root.get()};
    std::vector<std::pair<std::shared_ptr<Node<T>>, std::size_t>> stack{{root, 0}};
    while (!stack.empty()) {
      auto& [n, i] = stack.back();
      if (i < n->parents.size()) {
        std::shared_ptr<Node<T>> p = n->parents[i++];
        if (p->requires_grad && seen.insert(p.get()).second) stack.push_back({p, 0});
      } else {
        order.push_back(n);
        stack.pop_back();
      }
    }
  }

  std::shared_ptr<Node<T>> node_;
};

using Variable = Var<float>;

}  // namespace freqcap
