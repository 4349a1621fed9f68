// The frozen-barycentrics op: schema, input checks and the CPU implementation.
//
//   torch.ops.drot.freeze_surface_points(rast, tri, clip, attrs) -> (pixel_index, xy, values)
//   torch.ops.drot.freeze_surface_points_backward(grad_xy, grad_values, pixel_index, rast, tri, clip,
//                                                 num_vertices, deterministic) -> (grad_clip, grad_attrs)
//
// The backward scatters to clip positions and attributes only: the barycentrics stay frozen.
#include "frozen_points_op.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include "frozen_points.h"

namespace drot {

Geometry check_geometry(const at::Tensor& rast, const at::Tensor& tri, const at::Tensor& clip) {
  TORCH_CHECK(rast.dim() == 4 && rast.size(3) == 4, "drot: rast must be [B, H, W, 4], got ", rast.sizes());
  TORCH_CHECK(at::isFloatingType(rast.scalar_type()), "drot: rast must be floating point, got ", rast.scalar_type());
  TORCH_CHECK(tri.dim() == 2 && tri.size(1) == 3, "drot: tri must be [F, 3], got ", tri.sizes());
  TORCH_CHECK(!at::isFloatingType(tri.scalar_type()) && tri.scalar_type() != at::kBool,
              "drot: tri must be an integer tensor, got ", tri.scalar_type());
  TORCH_CHECK(clip.dim() == 3 && clip.size(2) == 4 && clip.size(0) == rast.size(0),
              "drot: clip must be [B, V, 4] with B = ", rast.size(0), " (rast's batch), got ", clip.sizes());
  TORCH_CHECK(clip.scalar_type() == at::kFloat || clip.scalar_type() == at::kDouble,
              "drot: clip must be float32 or float64, got ", clip.scalar_type());
  TORCH_CHECK(rast.device() == clip.device() && tri.device() == clip.device(),
              "drot: rast, tri and clip must be on one device, got ", rast.device(), ", ", tri.device(), ", ",
              clip.device());
  Geometry g{rast.detach().to(clip.scalar_type()).contiguous(), tri.to(at::kLong).contiguous(), clip.contiguous()};
  // Out-of-range ids would read out of bounds in the kernels: refuse them here (one reduction each).
  if (g.tri.numel() > 0) {
    TORCH_CHECK(g.tri.min().item<int64_t>() >= 0 && g.tri.max().item<int64_t>() < clip.size(1),
                "drot: tri holds vertex ids outside [0, ", clip.size(1), ")");
  }
  if (g.rast.numel() > 0) {
    const double max_id = g.rast.select(3, 3).max().item<double>();
    TORCH_CHECK(max_id <= static_cast<double>(tri.size(0)), "drot: rast refers to triangle ", max_id - 1,
                " but tri has only ", tri.size(0), " triangles");
  }
  return g;
}

at::Tensor check_attrs(const at::Tensor& attrs, const at::Tensor& clip) {
  TORCH_CHECK(attrs.dim() == 2 && attrs.size(0) == clip.size(1),
              "drot: attrs must be [V, C] with V = ", clip.size(1), " (clip's vertices), got ", attrs.sizes());
  TORCH_CHECK(attrs.scalar_type() == clip.scalar_type(), "drot: attrs (", attrs.scalar_type(),
              ") and clip (", clip.scalar_type(), ") must have the same dtype");
  TORCH_CHECK(attrs.device() == clip.device(), "drot: attrs is on ", attrs.device(), " but clip on ", clip.device());
  return attrs.contiguous();
}

std::tuple<at::Tensor, at::Tensor> check_grads(const at::Tensor& grad_xy, const at::Tensor& grad_values,
                                               const at::Tensor& pixel_index, const at::Tensor& clip) {
  const int64_t n = pixel_index.numel();
  TORCH_CHECK(grad_xy.dim() == 2 && grad_xy.size(0) == n && grad_xy.size(1) == 2,
              "drot: grad_xy must be [N, 2] with N = ", n, ", got ", grad_xy.sizes());
  TORCH_CHECK(grad_values.dim() == 2 && grad_values.size(0) == n,
              "drot: grad_values must be [N, C] with N = ", n, ", got ", grad_values.sizes());
  return {grad_xy.to(clip.scalar_type()).contiguous(), grad_values.to(clip.scalar_type()).contiguous()};
}

at::Tensor covered_pixels(const at::Tensor& rast) {
  return rast.select(3, 3).flip({1}).reshape({-1}).gt(0).nonzero().squeeze(1);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> freeze_surface_points_cpu(const at::Tensor& rast_in,
                                                                         const at::Tensor& tri_in,
                                                                         const at::Tensor& clip_in,
                                                                         const at::Tensor& attrs_in) {
  const Geometry in = check_geometry(rast_in, tri_in, clip_in);
  const at::Tensor attrs_c = check_attrs(attrs_in, in.clip);
  const int64_t height = in.rast.size(1), width = in.rast.size(2);
  const int64_t num_vertices = in.clip.size(1), channels = attrs_c.size(1);
  const at::Tensor pixel_index = covered_pixels(in.rast);
  const int64_t n = pixel_index.numel();
  at::Tensor xy = at::empty({n, 2}, in.clip.options());
  at::Tensor values = at::empty({n, channels}, in.clip.options());
  AT_DISPATCH_FLOATING_TYPES(in.clip.scalar_type(), "drot::freeze_surface_points_cpu", [&] {
    const int64_t* pix = pixel_index.data_ptr<int64_t>();
    const scalar_t* rast = in.rast.data_ptr<scalar_t>();
    const int64_t* tri = in.tri.data_ptr<int64_t>();
    const scalar_t* clip = in.clip.data_ptr<scalar_t>();
    const scalar_t* attrs = attrs_c.data_ptr<scalar_t>();
    scalar_t* xy_out = xy.data_ptr<scalar_t>();
    scalar_t* values_out = values.data_ptr<scalar_t>();
    at::parallel_for(0, n, 2048, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const PixelAddress at_px = pixel_address(pix[i], height, width);
        const auto corners = frozen_corners(rast + at_px.rast, tri);
        scalar_t q[4];
        surface_point(corners, clip + at_px.batch * num_vertices * 4, q);
        screen_xy(q, xy_out + i * 2);
        for (int64_t c = 0; c < channels; ++c) {
          values_out[i * channels + c] = corners.w[0] * attrs[corners.vertex[0] * channels + c] +
                                         corners.w[1] * attrs[corners.vertex[1] * channels + c] +
                                         corners.w[2] * attrs[corners.vertex[2] * channels + c];
        }
      }
    });
  });
  return {pixel_index, xy, values};
}

std::tuple<at::Tensor, at::Tensor> freeze_surface_points_backward_cpu(
    const at::Tensor& grad_xy_in, const at::Tensor& grad_values_in, const at::Tensor& pixel_index_in,
    const at::Tensor& rast_in, const at::Tensor& tri_in, const at::Tensor& clip_in, int64_t num_vertices,
    bool /*deterministic: the CPU scatter is sequential, hence always deterministic*/) {
  const Geometry in = check_geometry(rast_in, tri_in, clip_in);
  TORCH_CHECK(num_vertices == in.clip.size(1), "drot: num_vertices ", num_vertices, " != clip's ", in.clip.size(1));
  at::Tensor grad_xy, grad_values;  // (no structured bindings: lambdas below capture them, C++17)
  std::tie(grad_xy, grad_values) = check_grads(grad_xy_in, grad_values_in, pixel_index_in, in.clip);
  const at::Tensor pixel_index = pixel_index_in.to(at::kLong).contiguous();
  const int64_t n = pixel_index.numel(), channels = grad_values.size(1);
  const int64_t height = in.rast.size(1), width = in.rast.size(2);
  at::Tensor grad_clip = at::zeros_like(in.clip);
  at::Tensor grad_attrs = at::zeros({num_vertices, channels}, in.clip.options());
  AT_DISPATCH_FLOATING_TYPES(in.clip.scalar_type(), "drot::freeze_surface_points_backward_cpu", [&] {
    const int64_t* pix = pixel_index.data_ptr<int64_t>();
    const scalar_t* rast = in.rast.data_ptr<scalar_t>();
    const int64_t* tri = in.tri.data_ptr<int64_t>();
    const scalar_t* clip = in.clip.data_ptr<scalar_t>();
    const scalar_t* gxy = grad_xy.data_ptr<scalar_t>();
    const scalar_t* gval = grad_values.data_ptr<scalar_t>();
    scalar_t* gclip = grad_clip.data_ptr<scalar_t>();
    scalar_t* gattrs = grad_attrs.data_ptr<scalar_t>();
    for (int64_t i = 0; i < n; ++i) {
      const PixelAddress at_px = pixel_address(pix[i], height, width);
      const auto corners = frozen_corners(rast + at_px.rast, tri);
      const scalar_t* clip_b = clip + at_px.batch * num_vertices * 4;
      scalar_t q[4], grad_q[4];
      surface_point(corners, clip_b, q);
      screen_xy_backward(q, gxy + i * 2, grad_q);
      for (int j = 0; j < 3; ++j) {
        scalar_t* gc = gclip + (at_px.batch * num_vertices + corners.vertex[j]) * 4;
        for (int k = 0; k < 4; ++k) gc[k] += corners.w[j] * grad_q[k];
        scalar_t* ga = gattrs + corners.vertex[j] * channels;
        for (int64_t c = 0; c < channels; ++c) ga[c] += corners.w[j] * gval[i * channels + c];
      }
    }
  });
  return {grad_clip, grad_attrs};
}

}  // namespace drot

TORCH_LIBRARY(drot, m) {
  m.def("freeze_surface_points(Tensor rast, Tensor tri, Tensor clip, Tensor attrs) -> (Tensor, Tensor, Tensor)");
  m.def(
      "freeze_surface_points_backward(Tensor grad_xy, Tensor grad_values, Tensor pixel_index, Tensor rast, "
      "Tensor tri, Tensor clip, int num_vertices, bool deterministic) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(drot, CPU, m) {
  m.impl("freeze_surface_points", &drot::freeze_surface_points_cpu);
  m.impl("freeze_surface_points_backward", &drot::freeze_surface_points_backward_cpu);
}
