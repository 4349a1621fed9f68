// Host-side declarations of the frozen-barycentrics op (see frozen_points.h for the math).
#pragma once

#include <ATen/ATen.h>

#include <tuple>

#include "frozen_points.h"

namespace drot {

// Validated, contiguous geometry: rast in clip's dtype, tri as int64.
struct Geometry {
  at::Tensor rast;  // [B, H, W, 4]
  at::Tensor tri;   // [F, 3] int64
  at::Tensor clip;  // [B, V, 4] float32 or float64
};

Geometry check_geometry(const at::Tensor& rast, const at::Tensor& tri, const at::Tensor& clip);
// attrs [V, C] in clip's dtype and device, contiguous.
at::Tensor check_attrs(const at::Tensor& attrs, const at::Tensor& clip);
// grad_xy [N, 2] and grad_values [N, C], contiguous in clip's dtype.
std::tuple<at::Tensor, at::Tensor> check_grads(const at::Tensor& grad_xy, const at::Tensor& grad_values,
                                               const at::Tensor& pixel_index, const at::Tensor& clip);

// A forward call's validated inputs and its allocated outputs (xy [N, 2], values [N, C]).
struct ForwardCall {
  Geometry in;
  at::Tensor attrs, pixel_index, xy, values;
};
ForwardCall prepare_forward(const at::Tensor& rast, const at::Tensor& tri, const at::Tensor& clip,
                            const at::Tensor& attrs);

// A backward call's validated inputs (incoming gradients in clip's dtype, pixel_index int64).
struct BackwardCall {
  Geometry in;
  at::Tensor grad_xy, grad_values, pixel_index;
};
BackwardCall prepare_backward(const at::Tensor& grad_xy, const at::Tensor& grad_values, const at::Tensor& pixel_index,
                              const at::Tensor& rast, const at::Tensor& tri, const at::Tensor& clip,
                              int64_t num_vertices);

// The kernels' view of validated inputs (pixel_index int64 [N], contiguous).
template <typename scalar_t>
FrozenPointsView<scalar_t> view_of(const at::Tensor& pixel_index, const Geometry& g) {
  return {pixel_index.data_ptr<int64_t>(), g.rast.data_ptr<scalar_t>(), g.tri.data_ptr<int64_t>(),
          g.clip.data_ptr<scalar_t>(), g.rast.size(1), g.rast.size(2), g.clip.size(1)};
}

// Flat indices (over [B, H, W], top row first) of the covered pixels, int64 [N], in row-major order.
at::Tensor covered_pixels(const at::Tensor& rast);

std::tuple<at::Tensor, at::Tensor, at::Tensor> freeze_surface_points_cpu(const at::Tensor& rast, const at::Tensor& tri,
                                                                         const at::Tensor& clip,
                                                                         const at::Tensor& attrs);
std::tuple<at::Tensor, at::Tensor> freeze_surface_points_backward_cpu(
    const at::Tensor& grad_xy, const at::Tensor& grad_values, const at::Tensor& pixel_index, const at::Tensor& rast,
    const at::Tensor& tri, const at::Tensor& clip, int64_t num_vertices, bool deterministic);

}  // namespace drot
