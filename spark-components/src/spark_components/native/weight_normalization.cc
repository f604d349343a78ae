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

// out[j] = sum over i of (mask ? w[i, j] : 0), in column_sum's order: rows padded with zeros to a power of two (the
// padding added as + 0, as XLA adds it), then halves added elementwise until one row is left; half: scratch rows
template <bool kMask>
void ColumnSum(const float* __restrict__ w, const bool* __restrict__ m, int64_t n_pre, int64_t n_post,
               float* __restrict__ half, float* __restrict__ out) {
  if (n_pre == 0) {
    for (int64_t j = 0; j < n_post; ++j) out[j] = 0.0f;
    return;
  }
  int64_t rows = 1;
  while (rows < n_pre) rows *= 2;
  if (rows == 1) {
    for (int64_t j = 0; j < n_post; ++j) out[j] = kMask && !m[j] ? 0.0f : w[j];
    return;
  }
  int64_t h = rows / 2;
  for (int64_t i = 0; i < h; ++i) {  // the first halving straight from the weights
    const float* a = w + i * n_post;
    const float* b = w + (i + h) * n_post;
    const bool* ma = kMask ? m + i * n_post : nullptr;
    const bool* mb = kMask ? m + (i + h) * n_post : nullptr;
    float* o = half + i * n_post;
    if (i + h < n_pre) {
      for (int64_t j = 0; j < n_post; ++j) o[j] = (kMask && !ma[j] ? 0.0f : a[j]) + (kMask && !mb[j] ? 0.0f : b[j]);
    } else {
      for (int64_t j = 0; j < n_post; ++j) o[j] = (kMask && !ma[j] ? 0.0f : a[j]) + 0.0f;
    }
  }
  while (h > 1) {
    const int64_t q = h / 2;
    for (int64_t i = 0; i < q; ++i) {
      float* a = half + i * n_post;
      const float* b = half + (i + q) * n_post;
      for (int64_t j = 0; j < n_post; ++j) a[j] = a[j] + b[j];
    }
    h = q;
  }
  for (int64_t j = 0; j < n_post; ++j) out[j] = half[j];
}

ffi::Error WeightNormalizationDense(ffi::Buffer<ffi::PRED> due, ffi::Buffer<ffi::PRED> mask,
                                    ffi::Buffer<ffi::F32> w_in, float target, bool subtractive,
                                    ffi::ResultBuffer<ffi::F32> w_out) {
  const auto dims = w_in.dimensions();
  if (dims.size() != 3 && dims.size() != 2) {
    return ffi::Error::InvalidArgument(
        "spark_weight_normalization_dense: weights must be (B, n_pre, n_post) or one network's (n_pre, n_post)");
  }
  // one network's weights are passed as they are: a (1, n_pre, n_post) view of them made XLA copy them every step
  const size_t lead = dims.size() - 2;
  const int64_t B = lead ? dims[0] : 1, n_pre = dims[lead], n_post = dims[lead + 1], n = n_pre * n_post;
  const bool all = mask.element_count() == 1;
  const int64_t count = static_cast<int64_t>(mask.element_count());
  const int64_t s_mask = all ? 0 : (count == B * n ? n : (count == n ? 0 : -1));
  if (due.element_count() != B || s_mask < 0) {
    return ffi::Error::InvalidArgument("spark_weight_normalization_dense: inconsistent shapes");
  }
  float* w = w_out->typed_data();
  if (w != w_in.typed_data()) std::copy(w_in.typed_data(), w_in.typed_data() + B * n, w);
  // most steps no network is due: return before allocating the scratch (its zeroing alone costs a pass over it)
  if (std::none_of(due.typed_data(), due.typed_data() + B, [](bool d) { return d; })) return ffi::Error::Success();
  std::vector<float> half(n_pre * n_post), sums(n_post), counts(n_post), shift(n_post), ones;
  for (int64_t lane = 0; lane < B; ++lane) {
    if (!due.typed_data()[lane]) continue;
    float* wl = w + lane * n;
    const bool* m = all ? nullptr : mask.typed_data() + lane * s_mask;
    if (m) {
      ColumnSum<true>(wl, m, n_pre, n_post, half.data(), sums.data());
    } else {
      ColumnSum<false>(wl, nullptr, n_pre, n_post, half.data(), sums.data());
    }
    if (!subtractive) {
      for (int64_t j = 0; j < n_post; ++j) shift[j] = sums[j] != 0.0f ? target / sums[j] : 1.0f;
      for (int64_t i = 0; i < n_pre; ++i) {
        float* row = wl + i * n_post;
        const bool* mr = m ? m + i * n_post : nullptr;
        for (int64_t j = 0; j < n_post; ++j) row[j] = (!mr || mr[j]) ? shift[j] * row[j] : 0.0f * row[j];
      }
      continue;
    }
    ones.assign(n, 1.0f);
    if (m) {
      ColumnSum<true>(ones.data(), m, n_pre, n_post, half.data(), counts.data());
    } else {
      ColumnSum<false>(ones.data(), nullptr, n_pre, n_post, half.data(), counts.data());
    }
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
