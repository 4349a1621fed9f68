// The frozen-barycentrics op on CUDA: one thread per covered pixel.
//
// The backward scatter has two modes: atomics (fast; float summation order varies between runs),
// and a deterministic one that writes every (pixel, corner) contribution, sorts them by vertex
// (stable) and lets one thread per vertex sum its contributions in that fixed order.
#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include "frozen_points.h"
#include "frozen_points_op.h"

namespace drot {
namespace {

constexpr int kThreads = 256;

inline unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

template <typename scalar_t>
__global__ void forward_kernel(const FrozenPointsView<scalar_t> in, const scalar_t* __restrict__ attrs, int64_t n,
                               int64_t channels, scalar_t* __restrict__ xy, scalar_t* __restrict__ values) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const auto g = proxy_geometry(in, i);
  screen_xy(g.q, xy + i * 2);
  interpolate_attributes(g.corners, attrs, channels, values + i * channels);
}

// Per pixel and corner j: the gradient w_j * dL/dq to clip row (batch * V + vertex), and w_j * dL/da to
// attrs row (vertex). atomic == true adds them in place; otherwise they are written to
// clip_contrib [N * 3, 4] / attr_contrib [N * 3, C] with their row keys, for a deterministic reduction.
template <typename scalar_t, bool atomic>
__global__ void backward_kernel(const FrozenPointsView<scalar_t> in, const scalar_t* __restrict__ grad_xy,
                                const scalar_t* __restrict__ grad_values, int64_t n, int64_t channels,
                                scalar_t* __restrict__ clip_out, scalar_t* __restrict__ attr_out,
                                int64_t* __restrict__ clip_key, int64_t* __restrict__ attr_key) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const auto g = proxy_geometry(in, i);
  scalar_t grad_q[4];
  screen_xy_backward(g.q, grad_xy + i * 2, grad_q);
  for (int j = 0; j < 3; ++j) {
    const int64_t clip_row = g.batch * in.num_vertices + g.corners.vertex[j];
    const int64_t attr_row = g.corners.vertex[j];
    const scalar_t w = g.corners.w[j];
    if (atomic) {
      for (int k = 0; k < 4; ++k) atomicAdd(clip_out + clip_row * 4 + k, w * grad_q[k]);
      for (int64_t c = 0; c < channels; ++c) atomicAdd(attr_out + attr_row * channels + c, w * grad_values[i * channels + c]);
    } else {
      const int64_t slot = i * 3 + j;
      clip_key[slot] = clip_row;
      attr_key[slot] = attr_row;
      for (int k = 0; k < 4; ++k) clip_out[slot * 4 + k] = w * grad_q[k];
      for (int64_t c = 0; c < channels; ++c) attr_out[slot * channels + c] = w * grad_values[i * channels + c];
    }
  }
}

// out[s, d] = sum of contrib[order[j], d] for j in [offsets[s], offsets[s + 1]), in that order.
template <typename scalar_t>
__global__ void segment_sum_kernel(const scalar_t* __restrict__ contrib, const int64_t* __restrict__ order,
                                   const int64_t* __restrict__ offsets, int64_t segments, int64_t dims,
                                   scalar_t* __restrict__ out) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= segments * dims) return;
  const int64_t s = t / dims, d = t % dims;
  scalar_t acc = 0;
  for (int64_t j = offsets[s]; j < offsets[s + 1]; ++j) acc += contrib[order[j] * dims + d];
  out[t] = acc;
}

// Deterministic scatter-add of contrib [M, D] into `segments` rows by key [M].
at::Tensor deterministic_segment_sum(const at::Tensor& contrib, const at::Tensor& key, int64_t segments) {
  const auto sorted = at::sort(key, /*stable=*/true, /*dim=*/0, /*descending=*/false);
  const at::Tensor& sorted_key = std::get<0>(sorted);
  const at::Tensor order = std::get<1>(sorted).contiguous();
  const at::Tensor offsets = at::searchsorted(sorted_key, at::arange(segments + 1, key.options())).contiguous();
  const int64_t dims = contrib.size(1);
  at::Tensor out = at::empty({segments, dims}, contrib.options());
  if (segments * dims == 0) return out;
  AT_DISPATCH_FLOATING_TYPES(contrib.scalar_type(), "drot::deterministic_segment_sum", [&] {
    segment_sum_kernel<scalar_t><<<blocks_for(segments * dims), kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        contrib.data_ptr<scalar_t>(), order.data_ptr<int64_t>(), offsets.data_ptr<int64_t>(), segments, dims,
        out.data_ptr<scalar_t>());
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return out;
}

}  // namespace

std::tuple<at::Tensor, at::Tensor, at::Tensor> freeze_surface_points_cuda(const at::Tensor& rast,
                                                                          const at::Tensor& tri,
                                                                          const at::Tensor& clip,
                                                                          const at::Tensor& attrs) {
  const c10::cuda::CUDAGuard guard(clip.device());
  const ForwardCall call = prepare_forward(rast, tri, clip, attrs);
  const int64_t n = call.pixel_index.numel();
  if (n == 0) return {call.pixel_index, call.xy, call.values};
  AT_DISPATCH_FLOATING_TYPES(call.in.clip.scalar_type(), "drot::freeze_surface_points_cuda", [&] {
    forward_kernel<scalar_t><<<blocks_for(n), kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        view_of<scalar_t>(call.pixel_index, call.in), call.attrs.data_ptr<scalar_t>(), n, call.attrs.size(1),
        call.xy.data_ptr<scalar_t>(), call.values.data_ptr<scalar_t>());
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {call.pixel_index, call.xy, call.values};
}

std::tuple<at::Tensor, at::Tensor> freeze_surface_points_backward_cuda(
    const at::Tensor& grad_xy, const at::Tensor& grad_values, const at::Tensor& pixel_index, const at::Tensor& rast,
    const at::Tensor& tri, const at::Tensor& clip, int64_t num_vertices, bool deterministic) {
  const c10::cuda::CUDAGuard guard(clip.device());
  const BackwardCall call = prepare_backward(grad_xy, grad_values, pixel_index, rast, tri, clip, num_vertices);
  const int64_t n = call.pixel_index.numel(), channels = call.grad_values.size(1), batch = call.in.clip.size(0);
  const auto stream = c10::cuda::getCurrentCUDAStream();
  if (!deterministic || n == 0) {
    at::Tensor grad_clip = at::zeros_like(call.in.clip);
    at::Tensor grad_attrs = at::zeros({num_vertices, channels}, call.in.clip.options());
    if (n == 0) return {grad_clip, grad_attrs};
    AT_DISPATCH_FLOATING_TYPES(call.in.clip.scalar_type(), "drot::freeze_surface_points_backward_cuda", [&] {
      backward_kernel<scalar_t, true><<<blocks_for(n), kThreads, 0, stream>>>(
          view_of<scalar_t>(call.pixel_index, call.in), call.grad_xy.data_ptr<scalar_t>(),
          call.grad_values.data_ptr<scalar_t>(), n, channels, grad_clip.data_ptr<scalar_t>(),
          grad_attrs.data_ptr<scalar_t>(), nullptr, nullptr);
    });
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return {grad_clip, grad_attrs};
  }
  at::Tensor clip_contrib = at::empty({n * 3, 4}, call.in.clip.options());
  at::Tensor attr_contrib = at::empty({n * 3, channels}, call.in.clip.options());
  at::Tensor clip_key = at::empty({n * 3}, call.pixel_index.options());
  at::Tensor attr_key = at::empty({n * 3}, call.pixel_index.options());
  AT_DISPATCH_FLOATING_TYPES(call.in.clip.scalar_type(), "drot::freeze_surface_points_backward_cuda", [&] {
    backward_kernel<scalar_t, false><<<blocks_for(n), kThreads, 0, stream>>>(
        view_of<scalar_t>(call.pixel_index, call.in), call.grad_xy.data_ptr<scalar_t>(),
        call.grad_values.data_ptr<scalar_t>(), n, channels, clip_contrib.data_ptr<scalar_t>(),
        attr_contrib.data_ptr<scalar_t>(), clip_key.data_ptr<int64_t>(), attr_key.data_ptr<int64_t>());
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  at::Tensor grad_clip =
      deterministic_segment_sum(clip_contrib, clip_key, batch * num_vertices).view({batch, num_vertices, 4});
  at::Tensor grad_attrs = deterministic_segment_sum(attr_contrib, attr_key, num_vertices);
  return {grad_clip, grad_attrs};
}

}  // namespace drot

TORCH_LIBRARY_IMPL(drot, CUDA, m) {
  m.impl("freeze_surface_points", &drot::freeze_surface_points_cuda);
  m.impl("freeze_surface_points_backward", &drot::freeze_surface_points_backward_cuda);
}
