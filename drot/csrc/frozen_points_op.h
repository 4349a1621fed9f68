// Host-side declarations of the frozen-barycentrics op (see frozen_points.h for the math).
#pragma once

#include <ATen/ATen.h>

#include <tuple>

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

// Flat indices (over [B, H, W], top row first) of the covered pixels, int64 [N], in row-major order.
at::Tensor covered_pixels(const at::Tensor& rast);

std::tuple<at::Tensor, at::Tensor, at::Tensor> freeze_surface_points_cpu(const at::Tensor& rast, const at::Tensor& tri,
                                                                         const at::Tensor& clip,
                                                                         const at::Tensor& attrs);
std::tuple<at::Tensor, at::Tensor> freeze_surface_points_backward_cpu(
    const at::Tensor& grad_xy, const at::Tensor& grad_values, const at::Tensor& pixel_index, const at::Tensor& rast,
    const at::Tensor& tri, const at::Tensor& clip, int64_t num_vertices, bool deterministic);

}  // namespace drot
