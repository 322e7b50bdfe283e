// freqcap's umbrella header: include this one file to get the whole public API.
#pragma once

#include "freqcap/version.hpp"

// core: tensors, shapes, errors, half precision, threads
#include "freqcap/core/error.hpp"
#include "freqcap/core/fp16.hpp"
#include "freqcap/core/linalg.hpp"
#include "freqcap/core/memory.hpp"
#include "freqcap/core/random.hpp"
#include "freqcap/core/tensor.hpp"
#include "freqcap/core/tensor_ops.hpp"
#include "freqcap/core/threads.hpp"

// kernels: scalar reference + AVX2 + AVX-512, picked at run time
#include "freqcap/kernels/conv2d.hpp"
#include "freqcap/kernels/elementwise.hpp"
#include "freqcap/kernels/gemm.hpp"
#include "freqcap/kernels/layer_norm.hpp"
#include "freqcap/kernels/softmax.hpp"

// autograd: Var, ops, gradient checker
#include "freqcap/autograd/autograd.hpp"

// nn: modules, initialisers, optimizers, schedules
#include "freqcap/nn/nn.hpp"

// dct: DCT-II/III, zigzag masks, Frequency Regularization layers, compressed files
#include "freqcap/dct/compress.hpp"
#include "freqcap/dct/dct.hpp"
#include "freqcap/dct/fr_conv.hpp"
#include "freqcap/dct/fr_linear.hpp"
#include "freqcap/dct/schedule.hpp"
#include "freqcap/dct/zigzag.hpp"

// backbones: AlexNet, EfficientNet-B0/B1, ResNet-50, MobileNetV2 (+ FR variants)
#include "freqcap/backbones/factory.hpp"

// text and metrics
#include "freqcap/metrics/evaluate.hpp"
#include "freqcap/text/standardize.hpp"

// data and io
#include "freqcap/text/caption_json.hpp"
#include "freqcap/text/vocabulary.hpp"
#include "freqcap/transformer/decoder.hpp"
#include "freqcap/transformer/encoder.hpp"
#include "freqcap/data/fashion_mnist.hpp"
#include "freqcap/data/idx.hpp"
#include "freqcap/data/image.hpp"
#include "freqcap/data/preprocess.hpp"
#include "freqcap/data/augment.hpp"
#include "freqcap/data/coco.hpp"
#include "freqcap/data/prefetch.hpp"
#include "freqcap/data/scene_items.hpp"
#include "freqcap/data/scenes.hpp"
#include "freqcap/io/atomic_file.hpp"
#include "freqcap/io/safetensors.hpp"
#include "freqcap/io/state_dict.hpp"
#include "freqcap/model/captioner.hpp"
#include "freqcap/model/model_file.hpp"
#include "freqcap/model/pretrain_backbone.hpp"
#include "freqcap/model/trainer.hpp"
