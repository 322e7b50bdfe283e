// The whole autograd layer in one include: Var and the graph, elementwise,
// reduction, shape and matrix ops, the neural-network ops (conv2d, norms,
// pooling, losses, embedding, dropout) and the finite-difference gradcheck.
#pragma once

#include "freqcap/autograd/var.hpp"
#include "freqcap/autograd/ops_elementwise.hpp"
#include "freqcap/autograd/ops_reduce.hpp"
#include "freqcap/autograd/ops_shape.hpp"
#include "freqcap/autograd/ops_linalg.hpp"
#include "freqcap/autograd/ops_conv.hpp"
#include "freqcap/autograd/ops_norm.hpp"
#include "freqcap/autograd/ops_pool.hpp"
#include "freqcap/autograd/ops_loss.hpp"
#include "freqcap/autograd/ops_misc.hpp"
#include "freqcap/autograd/gradcheck.hpp"
