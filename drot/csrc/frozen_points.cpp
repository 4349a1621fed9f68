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

ForwardCall prepare_forward(const at::Tensor& rast, const at::Tensor& tri, const at::Tensor& clip,
                            const at::Tensor& attrs) {
  ForwardCall call{check_geometry(rast, tri, clip)};
  call.attrs = check_attrs(attrs, call.in.clip);
  call.pixel_index = covered_pixels(call.in.rast);
  const int64_t n = call.pixel_index.numel();
  call.xy = at::empty({n, 2}, call.in.clip.options());
  call.values = at::empty({n, call.attrs.size(1)}, call.in.clip.options());
  return call;
}

BackwardCall prepare_backward(const at::Tensor& grad_xy, const at::Tensor& grad_values, const at::Tensor& pixel_index,
                              const at::Tensor& rast, const at::Tensor& tri, const at::Tensor& clip,
                              int64_t num_vertices) {
  BackwardCall call{check_geometry(rast, tri, clip)};
  TORCH_CHECK(num_vertices == call.in.clip.size(1), "drot: num_vertices ", num_vertices, " != clip's ",
              call.in.clip.size(1));
  std::tie(call.grad_xy, call.grad_values) = check_grads(grad_xy, grad_values, pixel_index, call.in.clip);
  call.pixel_index = pixel_index.to(at::kLong).contiguous();
  return call;
}

at::Tensor covered_pixels(const at::Tensor& rast) {
  return rast.select(3, 3).flip({1}).reshape({-1}).gt(0).nonzero().squeeze(1);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> freeze_surface_points_cpu(const at::Tensor& rast,
                                                                         const at::Tensor& tri,
                                                                         const at::Tensor& clip,
                                                                         const at::Tensor& attrs) {
  const ForwardCall call = prepare_forward(rast, tri, clip, attrs);
  const int64_t n = call.pixel_index.numel(), channels = call.attrs.size(1);
  AT_DISPATCH_FLOATING_TYPES(call.in.clip.scalar_type(), "drot::freeze_surface_points_cpu", [&] {
    const auto view = view_of<scalar_t>(call.pixel_index, call.in);
    const scalar_t* attrs_in = call.attrs.data_ptr<scalar_t>();
    scalar_t* xy_out = call.xy.data_ptr<scalar_t>();
    scalar_t* values_out = call.values.data_ptr<scalar_t>();
    at::parallel_for(0, n, 2048, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const auto g = proxy_geometry(view, i);
        screen_xy(g.q, xy_out + i * 2);
        interpolate_attributes(g.corners, attrs_in, channels, values_out + i * channels);
      }
    });
  });
  return {call.pixel_index, call.xy, call.values};
}

std::tuple<at::Tensor, at::Tensor> freeze_surface_points_backward_cpu(
    const at::Tensor& grad_xy, const at::Tensor& grad_values, const at::Tensor& pixel_index, const at::Tensor& rast,
    const at::Tensor& tri, const at::Tensor& clip, int64_t num_vertices,
    bool /*deterministic: the CPU scatter is sequential, hence always deterministic*/) {
  const BackwardCall call = prepare_backward(grad_xy, grad_values, pixel_index, rast, tri, clip, num_vertices);
  const int64_t n = call.pixel_index.numel(), channels = call.grad_values.size(1);
  at::Tensor grad_clip = at::zeros_like(call.in.clip);
  at::Tensor grad_attrs = at::zeros({num_vertices, channels}, call.in.clip.options());
  AT_DISPATCH_FLOATING_TYPES(call.in.clip.scalar_type(), "drot::freeze_surface_points_backward_cpu", [&] {
    const auto view = view_of<scalar_t>(call.pixel_index, call.in);
    const scalar_t* gxy = call.grad_xy.data_ptr<scalar_t>();
    const scalar_t* gval = call.grad_values.data_ptr<scalar_t>();
    scalar_t* gclip = grad_clip.data_ptr<scalar_t>();
    scalar_t* gattrs = grad_attrs.data_ptr<scalar_t>();
    for (int64_t i = 0; i < n; ++i) {
      const auto g = proxy_geometry(view, i);
      scalar_t grad_q[4];
      screen_xy_backward(g.q, gxy + i * 2, grad_q);
      for (int j = 0; j < 3; ++j) {
        const scalar_t w = g.corners.w[j];
        scalar_t* gc = gclip + (g.batch * num_vertices + g.corners.vertex[j]) * 4;
        for (int k = 0; k < 4; ++k) gc[k] += w * grad_q[k];
        scalar_t* ga = gattrs + g.corners.vertex[j] * channels;
        for (int64_t c = 0; c < channels; ++c) ga[c] += w * gval[i * channels + c];
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
