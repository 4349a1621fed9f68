// Point proxies with frozen barycentrics: the per-pixel math shared by the CPU and CUDA kernels.
//
// A covered pixel of a rasterization (nvdiffrast layout: rast[b, row, col] = (u, v, z/w, face + 1),
// row 0 at the bottom) sees the surface point q = u*p0 + v*p1 + (1-u-v)*p2 of its triangle. With the
// barycentrics (u, v) frozen, q follows the *current* clip positions p_i, and so do its screen
// position xy = ((q.x/q.w + 1)/2, (1 - q.y/q.w)/2) (x right, y down, in [0, 1]^2) and its
// interpolated attributes a = u*a0 + v*a1 + (1-u-v)*a2. The PyTorch reference of the same op is
// drot.proxies.freeze_surface_points_reference.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define DROT_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define DROT_HOST_DEVICE inline
#endif

namespace drot {

// Where proxy n reads its rasterization: pixel_index is flat over [B, H, W] with the *top* row first.
struct PixelAddress {
  int64_t batch;  // view in the batch
  int64_t rast;   // offset of the pixel's 4 floats in rast (bottom row first)
};

DROT_HOST_DEVICE PixelAddress pixel_address(int64_t pixel_index, int64_t height, int64_t width) {
  const int64_t plane = height * width;
  const int64_t batch = pixel_index / plane;
  const int64_t row_top = (pixel_index % plane) / width;
  const int64_t col = pixel_index % width;
  return {batch, ((batch * height + (height - 1 - row_top)) * width + col) * 4};
}

// The frozen barycentrics and vertex ids of the triangle a pixel sees.
template <typename scalar_t>
struct FrozenCorner {
  scalar_t w[3];
  int64_t vertex[3];
};

template <typename scalar_t>
DROT_HOST_DEVICE FrozenCorner<scalar_t> frozen_corners(const scalar_t* rast_px, const int64_t* tri) {
  FrozenCorner<scalar_t> out;
  const int64_t face = static_cast<int64_t>(rast_px[3]) - 1;
  out.w[0] = rast_px[0];
  out.w[1] = rast_px[1];
  out.w[2] = scalar_t(1) - rast_px[0] - rast_px[1];
  for (int i = 0; i < 3; ++i) out.vertex[i] = tri[face * 3 + i];
  return out;
}

// Clip-space surface point q = sum_i w_i p_i; clip_b points at this view's [V, 4] positions.
template <typename scalar_t>
DROT_HOST_DEVICE void surface_point(const FrozenCorner<scalar_t>& c, const scalar_t* clip_b, scalar_t q[4]) {
  for (int k = 0; k < 4; ++k) {
    q[k] = c.w[0] * clip_b[c.vertex[0] * 4 + k] + c.w[1] * clip_b[c.vertex[1] * 4 + k] +
           c.w[2] * clip_b[c.vertex[2] * 4 + k];
  }
}

template <typename scalar_t>
DROT_HOST_DEVICE void screen_xy(const scalar_t q[4], scalar_t* xy) {
  xy[0] = (q[0] / q[3] + scalar_t(1)) * scalar_t(0.5);
  xy[1] = (scalar_t(1) - q[1] / q[3]) * scalar_t(0.5);
}

// d loss / d q from d loss / d xy (the chain rule of screen_xy).
template <typename scalar_t>
DROT_HOST_DEVICE void screen_xy_backward(const scalar_t q[4], const scalar_t* grad_xy, scalar_t grad_q[4]) {
  const scalar_t inv_w = scalar_t(1) / q[3];
  grad_q[0] = scalar_t(0.5) * grad_xy[0] * inv_w;
  grad_q[1] = scalar_t(-0.5) * grad_xy[1] * inv_w;
  grad_q[2] = scalar_t(0);
  grad_q[3] = scalar_t(0.5) * (grad_xy[1] * q[1] - grad_xy[0] * q[0]) * inv_w * inv_w;
}

// Interpolated attributes a = sum_i w_i a_i of one pixel, attrs [V, channels] → out [channels].
template <typename scalar_t>
DROT_HOST_DEVICE void interpolate_attributes(const FrozenCorner<scalar_t>& c, const scalar_t* attrs, int64_t channels,
                                             scalar_t* out) {
  for (int64_t k = 0; k < channels; ++k) {
    out[k] = c.w[0] * attrs[c.vertex[0] * channels + k] + c.w[1] * attrs[c.vertex[1] * channels + k] +
             c.w[2] * attrs[c.vertex[2] * channels + k];
  }
}

// The inputs every kernel reads, as raw pointers (contiguous) and sizes.
template <typename scalar_t>
struct FrozenPointsView {
  const int64_t* pixel_index;  // [N]
  const scalar_t* rast;        // [B, H, W, 4]
  const int64_t* tri;          // [F, 3]
  const scalar_t* clip;        // [B, V, 4]
  int64_t height, width, num_vertices;
};

// Proxy i: the view it belongs to, its frozen corners and its clip-space surface point q.
template <typename scalar_t>
struct ProxyGeometry {
  int64_t batch;
  FrozenCorner<scalar_t> corners;
  scalar_t q[4];
};

template <typename scalar_t>
DROT_HOST_DEVICE ProxyGeometry<scalar_t> proxy_geometry(const FrozenPointsView<scalar_t>& in, int64_t i) {
  ProxyGeometry<scalar_t> g;
  const PixelAddress at = pixel_address(in.pixel_index[i], in.height, in.width);
  g.batch = at.batch;
  g.corners = frozen_corners(in.rast + at.rast, in.tri);
  surface_point(g.corners, in.clip + at.batch * in.num_vertices * 4, g.q);
  return g;
}

}  // namespace drot
