// Synaptic scaling (spark-components:weight_normalization) on dense storage, in place, as an XLA FFI custom call on
// the CPU: per lane (agents or trials side by side; one lane for one network), only where that lane is due.
//
// For a due lane, with s[j] the sum of the existing weights onto j (mask) and n[j] their number:
//   multiplicative:  w[i, j] <- w[i, j] (target / s[j])           (s[j] = 0: factor 1)
//   subtractive:     w[i, j] <- w[i, j] + (target - s[j]) / n[j]  (n[j] = 0: + 0)
// and absent synapses (mask false) become 0. The sums are spark.partition.column_sum's: rows padded with zeros to a
// power of two, then halves added elementwise until one row is left, so the numbers are those of the rule's JAX
// path bit for bit. A lane that is not due is not touched: no conditional, no copy of the weights.
//
// mask: (n_pre, n_post) per lane or shared, or one element (every synapse exists).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

// sum over rows of x (rows x n_post, rows a power of two), in column_sum's order; x is overwritten
void ColumnSum(float* x, int64_t rows, int64_t n_post, float* out) {
  while (rows > 1) {
    const int64_t half = rows / 2;
    for (int64_t i = 0; i < half; ++i) {
      float* a = x + i * n_post;
      const float* b = x + (i + half) * n_post;
      for (int64_t j = 0; j < n_post; ++j) a[j] = a[j] + b[j];
    }
    rows = half;
  }
  for (int64_t j = 0; j < n_post; ++j) out[j] = rows == 1 ? x[j] : 0.0f;
}

ffi::Error WeightNormalizationDense(ffi::Buffer<ffi::PRED> due, ffi::Buffer<ffi::PRED> mask,
                                    ffi::Buffer<ffi::F32> w_in, float target, bool subtractive,
                                    ffi::ResultBuffer<ffi::F32> w_out) {
  const auto dims = w_in.dimensions();
  if (dims.size() != 3) {
    return ffi::Error::InvalidArgument("spark_weight_normalization_dense: weights must be (B, n_pre, n_post)");
  }
  const int64_t B = dims[0], n_pre = dims[1], n_post = dims[2], n = n_pre * n_post;
  const bool all = mask.element_count() == 1;
  const int64_t count = static_cast<int64_t>(mask.element_count());
  const int64_t s_mask = all ? 0 : (count == B * n ? n : (count == n ? 0 : -1));
  if (due.element_count() != B || s_mask < 0) {
    return ffi::Error::InvalidArgument("spark_weight_normalization_dense: inconsistent shapes");
  }
  float* w = w_out->typed_data();
  if (w != w_in.typed_data()) std::copy(w_in.typed_data(), w_in.typed_data() + B * n, w);
  int64_t rows = 1;
  while (rows < n_pre) rows *= 2;
  std::vector<float> scratch, sums(n_post), counts(n_post), shift(n_post);
  for (int64_t lane = 0; lane < B; ++lane) {
    if (!due.typed_data()[lane]) continue;
    float* wl = w + lane * n;
    const bool* m = all ? nullptr : mask.typed_data() + lane * s_mask;
    scratch.assign(rows * n_post, 0.0f);
    for (int64_t k = 0; k < n; ++k) scratch[k] = (!m || m[k]) ? wl[k] : 0.0f;
    ColumnSum(scratch.data(), rows, n_post, sums.data());
    if (!subtractive) {
      for (int64_t j = 0; j < n_post; ++j) shift[j] = sums[j] != 0.0f ? target / sums[j] : 1.0f;
      for (int64_t i = 0; i < n_pre; ++i) {
        float* row = wl + i * n_post;
        const bool* mr = m ? m + i * n_post : nullptr;
        for (int64_t j = 0; j < n_post; ++j) row[j] = (!mr || mr[j]) ? shift[j] * row[j] : 0.0f * row[j];
      }
      continue;
    }
    scratch.assign(rows * n_post, 0.0f);
    for (int64_t k = 0; k < n; ++k) scratch[k] = (!m || m[k]) ? 1.0f : 0.0f;
    ColumnSum(scratch.data(), rows, n_post, counts.data());
    for (int64_t j = 0; j < n_post; ++j) {
      shift[j] = counts[j] > 0.0f ? (target - sums[j]) / std::max(counts[j], 1.0f) : 0.0f;
    }
    for (int64_t i = 0; i < n_pre; ++i) {
      float* row = wl + i * n_post;
      const bool* mr = m ? m + i * n_post : nullptr;
      for (int64_t j = 0; j < n_post; ++j) row[j] = row[j] + ((!mr || mr[j]) ? shift[j] : 0.0f);
    }
  }
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkWeightNormalizationDense, WeightNormalizationDense,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::PRED>>()
                                  .Arg<ffi::Buffer<ffi::PRED>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Attr<float>("target")
                                  .Attr<bool>("subtractive")
                                  .Ret<ffi::Buffer<ffi::F32>>());
