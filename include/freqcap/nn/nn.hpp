// Umbrella header for nn/: Module and the layers, initialisers, optimizers,
// learning-rate schedules and gradient clipping (and all of autograd/).
#pragma once

#include "freqcap/autograd/autograd.hpp"
#include "freqcap/nn/activation.hpp"
#include "freqcap/nn/average.hpp"
#include "freqcap/nn/batchnorm.hpp"
#include "freqcap/nn/clip_grad.hpp"
#include "freqcap/nn/conv.hpp"
#include "freqcap/nn/dropout.hpp"
#include "freqcap/nn/ema.hpp"
#include "freqcap/nn/embedding.hpp"
#include "freqcap/nn/init.hpp"
#include "freqcap/nn/layernorm.hpp"
#include "freqcap/nn/linear.hpp"
#include "freqcap/nn/lr_schedule.hpp"
#include "freqcap/nn/module.hpp"
#include "freqcap/nn/optim.hpp"
#include "freqcap/nn/pooling.hpp"
#include "freqcap/nn/sequential.hpp"
#include "freqcap/nn/tensor_dict.hpp"
