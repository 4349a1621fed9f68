// The sparse Sinkhorn's inner loops on CPU (see drot/matching/sinkhorn_multiscale.py for the
// algorithm and drot/matching/sparse_ops.py for the Python side; the PyTorch reference there
// computes the same quantities with gathers and index_add_).
//
// Pairs are stored by row (CSR): ptr [n + 1] int64, cols [P] int64, cost [P] (C_ij = ½|x_i - y_j|²).
// Scores are log-domain: z_ij = u_i + v_j - C_ij / ε with u = log a + f / ε and v = log b + g / ε.
//
//   sparse_log_sums(ptr, cols, cost, u, v, inv_eps) -> (row [n], col [m])   float64 log Σ exp(z)
//   sparse_support(ptr, cols, cost, u, v, inv_eps, log_truncation) -> keep [P] bool
//   sparse_refine(coarse_ptr, coarse_cols, row_parent, col_start, col_order, x, y, u, v, inv_eps,
//                 log_truncation) -> (ptr, cols, cost)
//   sparse_softmin(coarse_ptr, coarse_cols, parent, x, y_coarse, v_coarse, inv_eps) -> [n] float64
//   sparse_project(ptr, cols, parent, x, y, v, y_raw, spread, a, inv_eps) -> (targets, cost, columns, lse)
//
// Rows are independent (a parallel loop over them, exact max-stabilised sums per row); columns
// are reduced in one array per thread, merged at the end, so results do not depend on how the rows
// were split except for the order of a column's floating-point additions.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

namespace drot {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

void check_csr(const at::Tensor& ptr, const at::Tensor& cols, const char* what) {
  TORCH_CHECK(ptr.device().is_cpu() && cols.device().is_cpu(), "drot: ", what, " must be CPU tensors");
  TORCH_CHECK(ptr.dim() == 1 && ptr.scalar_type() == at::kLong && ptr.size(0) >= 1,
              "drot: ", what, " ptr must be [n + 1] int64, got ", ptr.sizes(), " ", ptr.scalar_type());
  TORCH_CHECK(cols.dim() == 1 && cols.scalar_type() == at::kLong, "drot: ", what, " cols must be [P] int64, got ",
              cols.sizes(), " ", cols.scalar_type());
}

void check_vector(const at::Tensor& t, int64_t n, at::ScalarType dtype, const char* name) {
  TORCH_CHECK(t.device().is_cpu() && t.dim() == 1 && t.size(0) == n && t.scalar_type() == dtype,
              "drot: ", name, " must be a CPU [", n, "] ", dtype, " tensor, got ", t.sizes(), " ", t.scalar_type(),
              " on ", t.device());
}

int threads() { return std::max(1, at::get_num_threads()); }

int thread_slot() { return std::min(at::get_thread_num(), threads() - 1); }

// One online log-sum-exp accumulator per (thread, column): (max, Σ exp(z - max)).
struct ColumnLse {
  int64_t m;
  std::vector<double> mx, s;
  explicit ColumnLse(int64_t m_) : m(m_), mx(static_cast<size_t>(threads() * m_), kNegInf),
                                   s(static_cast<size_t>(threads() * m_), 0.0) {}
  inline void add(int t, int64_t j, double z) {
    double& M = mx[t * m + j];
    double& S = s[t * m + j];
    if (z > M) {
      S = S * std::exp(M - z) + 1.0;  // exp(-inf) = 0 for the first entry
      M = z;
    } else {
      S += std::exp(z - M);
    }
  }
  at::Tensor merged() const {
    at::Tensor out = at::empty({m}, at::kDouble);
    double* o = out.data_ptr<double>();
    const int T = static_cast<int>(mx.size() / std::max<int64_t>(m, 1));
    at::parallel_for(0, m, 4096, [&](int64_t b, int64_t e) {
      for (int64_t j = b; j < e; ++j) {
        double M = kNegInf;
        for (int t = 0; t < T; ++t) M = std::max(M, mx[t * m + j]);
        if (M == kNegInf) { o[j] = kNegInf; continue; }
        double S = 0.0;
        for (int t = 0; t < T; ++t) S += s[t * m + j] * std::exp(mx[t * m + j] - M);
        o[j] = std::log(S) + M;
      }
    });
    return out;
  }
};

// Column maxima of a score, one array per thread, merged.
struct ColumnMax {
  int64_t m;
  std::vector<double> mx;
  explicit ColumnMax(int64_t m_) : m(m_), mx(static_cast<size_t>(threads() * m_), kNegInf) {}
  inline void add(int t, int64_t j, double z) { double& M = mx[t * m + j]; M = std::max(M, z); }  // branchless
  std::vector<double> merged() const {
    std::vector<double> out(static_cast<size_t>(m), kNegInf);
    const int T = static_cast<int>(mx.size() / std::max<int64_t>(m, 1));
    for (int t = 0; t < T; ++t)
      for (int64_t j = 0; j < m; ++j) out[j] = std::max(out[j], mx[t * m + j]);
    return out;
  }
};

template <typename T>
inline T half_sq_distance(const T* a, const T* b, int64_t d) {
  if (d == 5) {  // RGBXY: unrolled
    const T t0 = a[0] - b[0], t1 = a[1] - b[1], t2 = a[2] - b[2], t3 = a[3] - b[3], t4 = a[4] - b[4];
    return T(0.5) * (t0 * t0 + t1 * t1 + t2 * t2 + t3 * t3 + t4 * t4);
  }
  T s = 0;
  for (int64_t k = 0; k < d; ++k) { const T t = a[k] - b[k]; s += t * t; }
  return T(0.5) * s;
}

// A pair list with its potentials, validated and contiguous: ptr [n + 1], cols [P], cost [P], u [n], v [m].
struct PairList {
  at::Tensor ptr, cols, cost, u, v;
  int64_t n, m;
};

PairList check_pairs(const at::Tensor& ptr, const at::Tensor& cols, const at::Tensor& cost, const at::Tensor& u,
                     const at::Tensor& v, const char* what) {
  check_csr(ptr, cols, what);
  const int64_t n = ptr.size(0) - 1, m = v.size(0);
  check_vector(cost, cols.size(0), cost.scalar_type(), "cost");
  check_vector(u, n, cost.scalar_type(), "u");
  check_vector(v, m, cost.scalar_type(), "v");
  return {ptr.contiguous(), cols.contiguous(), cost.contiguous(), u.contiguous(), v.contiguous(), n, m};
}

// x [n, D] and y [m, D] of one dtype, contiguous.
std::pair<at::Tensor, at::Tensor> check_points(const at::Tensor& x, const at::Tensor& y, const char* what) {
  TORCH_CHECK(x.dim() == 2 && y.dim() == 2 && x.size(1) == y.size(1) && x.scalar_type() == y.scalar_type(),
              "drot: ", what, " x [n, D] and y [m, D] must share D and dtype, got ", x.sizes(), " ", x.scalar_type(),
              " and ", y.sizes(), " ", y.scalar_type());
  TORCH_CHECK(x.device().is_cpu() && y.device().is_cpu(), "drot: ", what, " x and y must be CPU tensors");
  return {x.contiguous(), y.contiguous()};
}

// Points x_i scored against the pairs of their parent row (the extrapolation and the projection):
// z_ik = v_J - C(x_i, y_J) / ε over the pairs k = (parent[i], J).
template <typename T>
struct ParentRows {
  const int64_t *P, *CJ, *par;
  const T *X, *Y, *V;
  int64_t d;
  T ie;
  // Row i's scores into z (and the costs C into h, when given); returns their max (-inf if empty).
  T scores(int64_t i, std::vector<T>& z, std::vector<T>* h = nullptr) const {
    const int64_t c = par[i], len = P[c + 1] - P[c];
    const T* xi = X + i * d;
    z.resize(static_cast<size_t>(len));
    if (h) h->resize(static_cast<size_t>(len));
    T M = -std::numeric_limits<T>::infinity();
    for (int64_t k = 0; k < len; ++k) {
      const int64_t J = CJ[P[c] + k];
      const T cost = half_sq_distance(xi, Y + J * d, d);
      if (h) (*h)[k] = cost;
      z[k] = V[J] - cost * ie;
      M = std::max(M, z[k]);
    }
    return M;
  }
};

}  // namespace

namespace {

// log Σ_j exp(z_ij) per row and per column, stabilised by the potentials already in u and v: one
// exp per pair. Returns false when a sum of a row or column with mass under- or overflowed.
template <typename T>
bool log_sums_fast(const int64_t* p, const int64_t* J, const T* C, const T* U, const T* V, int64_t n, int64_t m,
                   T ie, double* R, double* Cl) {
  const int nt = threads();
  std::vector<double> cols(static_cast<size_t>(nt * m), 0.0);
  at::parallel_for(0, n, 256, [&](int64_t b, int64_t e) {
    double* c = cols.data() + thread_slot() * m;
    for (int64_t i = b; i < e; ++i) {
      const T ui = U[i];
      double r = 0.0;
      for (int64_t k = p[i]; k < p[i + 1]; ++k) {
        const double q = std::exp(ui + V[J[k]] - C[k] * ie);
        r += q;
        c[J[k]] += q;
      }
      R[i] = std::log(r);
    }
  });
  at::parallel_for(0, m, 4096, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      double s = 0.0;
      for (int t = 0; t < nt; ++t) s += cols[t * m + j];
      Cl[j] = std::log(s);
    }
  });
  // Rows and columns without mass carry -1e30 in u / v: their sums may vanish harmlessly.
  const double low = 0.5 * std::log(static_cast<double>(std::numeric_limits<T>::min()));  // as the reference
  for (int64_t i = 0; i < n; ++i)
    if (U[i] > T(-1e29) && p[i + 1] > p[i] && !(std::isfinite(R[i]) && R[i] > low)) return false;
  for (int64_t j = 0; j < m; ++j)
    if (V[j] > T(-1e29) && !(std::isfinite(Cl[j]) && Cl[j] > low)) return false;
  return true;
}

// The same, max-stabilised per row (two passes) and per column (online, one accumulator per thread).
template <typename T>
void log_sums_stable(const int64_t* p, const int64_t* J, const T* C, const T* U, const T* V, int64_t n, int64_t m,
                     T ie, double* R, at::Tensor& col_out) {
  ColumnLse col(m);
  at::parallel_for(0, n, 256, [&](int64_t b, int64_t e) {
    const int t = thread_slot();
    for (int64_t i = b; i < e; ++i) {
      T M = -std::numeric_limits<T>::infinity();
      for (int64_t k = p[i]; k < p[i + 1]; ++k) M = std::max(M, V[J[k]] - C[k] * ie);
      if (p[i] == p[i + 1] || std::isinf(M)) {
        R[i] = kNegInf;
      } else {
        double S = 0.0;
        for (int64_t k = p[i]; k < p[i + 1]; ++k) S += std::exp(V[J[k]] - C[k] * ie - M);
        R[i] = std::log(S) + static_cast<double>(M) + static_cast<double>(U[i]);
      }
      const double ui = U[i];
      for (int64_t k = p[i]; k < p[i + 1]; ++k) col.add(t, J[k], ui + static_cast<double>(V[J[k]] - C[k] * ie));
    }
  });
  col_out = col.merged();
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> sparse_log_sums(const at::Tensor& ptr_, const at::Tensor& cols_,
                                                   const at::Tensor& cost_, const at::Tensor& u_,
                                                   const at::Tensor& v_, double inv_eps) {
  const PairList in = check_pairs(ptr_, cols_, cost_, u_, v_, "sparse_log_sums");
  const at::Tensor &ptr = in.ptr, &cols = in.cols, &cost = in.cost, &u = in.u, &v = in.v;
  const int64_t n = in.n, m = in.m;
  at::Tensor row = at::empty({n}, at::kDouble), col = at::empty({m}, at::kDouble);
  AT_DISPATCH_FLOATING_TYPES(cost.scalar_type(), "drot::sparse_log_sums", [&] {
    const int64_t* p = ptr.data_ptr<int64_t>();
    const int64_t* J = cols.data_ptr<int64_t>();
    const scalar_t* C = cost.data_ptr<scalar_t>();
    const scalar_t* U = u.data_ptr<scalar_t>();
    const scalar_t* V = v.data_ptr<scalar_t>();
    const scalar_t ie = static_cast<scalar_t>(inv_eps);
    if (!log_sums_fast(p, J, C, U, V, n, m, ie, row.data_ptr<double>(), col.data_ptr<double>()))
      log_sums_stable(p, J, C, U, V, n, m, ie, row.data_ptr<double>(), col);
  });
  return {row, col};
}

// Keep a pair when its row score is within log_truncation of its row's largest or its column score
// within log_truncation of its column's largest (the union covers every row and every column).
at::Tensor sparse_support(const at::Tensor& ptr_, const at::Tensor& cols_, const at::Tensor& cost_,
                          const at::Tensor& u_, const at::Tensor& v_, double inv_eps, double log_truncation) {
  const PairList in = check_pairs(ptr_, cols_, cost_, u_, v_, "sparse_support");
  const at::Tensor &ptr = in.ptr, &cols = in.cols, &cost = in.cost, &u = in.u, &v = in.v;
  const int64_t n = in.n, m = in.m;
  at::Tensor keep = at::empty({cols.size(0)}, at::kBool);
  AT_DISPATCH_FLOATING_TYPES(cost.scalar_type(), "drot::sparse_support", [&] {
    const int64_t* p = ptr.data_ptr<int64_t>();
    const int64_t* J = cols.data_ptr<int64_t>();
    const scalar_t* C = cost.data_ptr<scalar_t>();
    const scalar_t* U = u.data_ptr<scalar_t>();
    const scalar_t* V = v.data_ptr<scalar_t>();
    bool* K = keep.data_ptr<bool>();
    const scalar_t ie = static_cast<scalar_t>(inv_eps);
    ColumnMax cmax(m);
    at::parallel_for(0, n, 256, [&](int64_t b, int64_t e) {
      const int t = thread_slot();
      for (int64_t i = b; i < e; ++i)
        for (int64_t k = p[i]; k < p[i + 1]; ++k) cmax.add(t, J[k], static_cast<double>(U[i] - C[k] * ie));
    });
    const std::vector<double> col_max = cmax.merged();
    at::parallel_for(0, n, 256, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        double M = kNegInf;
        for (int64_t k = p[i]; k < p[i + 1]; ++k) M = std::max(M, static_cast<double>(V[J[k]] - C[k] * ie));
        for (int64_t k = p[i]; k < p[i + 1]; ++k) {
          const double c = static_cast<double>(C[k] * ie);
          K[k] = (static_cast<double>(V[J[k]]) - c >= M + log_truncation) ||
                 (static_cast<double>(U[i]) - c >= col_max[J[k]] + log_truncation);
        }
      }
    });
  });
  return keep;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> sparse_refine(
    const at::Tensor& coarse_ptr_, const at::Tensor& coarse_cols_, const at::Tensor& row_parent_,
    const at::Tensor& col_start_, const at::Tensor& col_order_, const at::Tensor& x_, const at::Tensor& y_,
    const at::Tensor& u_, const at::Tensor& v_, double inv_eps, double log_truncation) {
  check_csr(coarse_ptr_, coarse_cols_, "sparse_refine coarse pairs");
  check_csr(col_start_, col_order_, "sparse_refine column children");
  const at::Tensor cp = coarse_ptr_.contiguous(), cc = coarse_cols_.contiguous();
  const at::Tensor cs = col_start_.contiguous(), co = col_order_.contiguous();
  at::Tensor x, y;  // not a structured binding: lambdas may capture those only from C++20 on
  std::tie(x, y) = check_points(x_, y_, "sparse_refine");
  const int64_t n = x.size(0), m = y.size(0), d = x.size(1);
  check_vector(row_parent_, n, at::kLong, "row_parent");
  TORCH_CHECK(co.size(0) == m, "drot: sparse_refine column children must list the ", m, " fine columns, got ",
              co.size(0));
  TORCH_CHECK(cs.size(0) - 1 >= 1 || cc.size(0) == 0, "drot: sparse_refine needs column children");
  check_vector(u_, n, x.scalar_type(), "u");
  check_vector(v_, m, x.scalar_type(), "v");
  const at::Tensor parent = row_parent_.contiguous(), u = u_.contiguous(), v = v_.contiguous();
  at::Tensor out_ptr = at::empty({n + 1}, at::kLong);
  at::Tensor out_cols, out_cost;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "drot::sparse_refine", [&] {
    using T = scalar_t;
    const int64_t* P = cp.data_ptr<int64_t>();
    const int64_t* CJ = cc.data_ptr<int64_t>();
    const int64_t* S = cs.data_ptr<int64_t>();
    const int64_t* O = co.data_ptr<int64_t>();
    const int64_t* par = parent.data_ptr<int64_t>();
    const T* X = x.data_ptr<T>();
    const T* Y = y.data_ptr<T>();
    const T* U = u.data_ptr<T>();
    const T* V = v.data_ptr<T>();
    const T ie = static_cast<T>(inv_eps);
    // Candidates of fine row i: every child of every coarse column its parent cell is paired with.
    std::vector<int64_t> start(static_cast<size_t>(n + 1), 0);
    at::parallel_for(0, n, 1024, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t c = par[i];
        int64_t count = 0;
        for (int64_t k = P[c]; k < P[c + 1]; ++k) count += S[CJ[k] + 1] - S[CJ[k]];
        start[i + 1] = count;
      }
    });
    for (int64_t i = 0; i < n; ++i) start[i + 1] += start[i];
    const int64_t total = start[n];
    // Uninitialised: the parallel fill below touches the pages first (a zeroing pass would be serial).
    std::unique_ptr<int32_t[]> cand_j(new int32_t[static_cast<size_t>(std::max<int64_t>(total, 1))]);
    std::unique_ptr<T[]> cand_c(new T[static_cast<size_t>(std::max<int64_t>(total, 1))]);
    std::vector<double> row_max(static_cast<size_t>(n), kNegInf);
    ColumnMax cmax(m);
    at::parallel_for(0, n, 64, [&](int64_t b, int64_t e) {
      const int t = thread_slot();
      for (int64_t i = b; i < e; ++i) {
        const int64_t c = par[i];
        const T* xi = X + i * d;
        int64_t w = start[i];
        T M = -std::numeric_limits<T>::infinity();
        const T ui = U[i];
        for (int64_t k = P[c]; k < P[c + 1]; ++k) {
          const int64_t J = CJ[k];
          for (int64_t q = S[J]; q < S[J + 1]; ++q, ++w) {
            const int64_t j = O[q];
            const T cost = half_sq_distance(xi, Y + j * d, d);
            cand_j[w] = static_cast<int32_t>(j);
            cand_c[w] = cost;
            const T ce = cost * ie;
            M = std::max(M, V[j] - ce);
            cmax.add(t, j, ui - ce);
          }
        }
        row_max[i] = M;
      }
    });
    std::vector<T> col_max_t(static_cast<size_t>(m));
    {
      const std::vector<double> col_max = cmax.merged();
      for (int64_t j = 0; j < m; ++j) col_max_t[j] = static_cast<T>(col_max[j] + log_truncation);
    }
    // Compact each row's kept candidates in place, then copy the rows out contiguously.
    std::vector<int64_t> kept(static_cast<size_t>(n + 1), 0);
    at::parallel_for(0, n, 64, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        int64_t w = start[i];
        const T rm = static_cast<T>(row_max[i] + log_truncation), ui = U[i];
        for (int64_t k = start[i]; k < start[i + 1]; ++k) {
          const int32_t j = cand_j[k];
          const T ce = cand_c[k] * ie;
          const T cost = cand_c[k];
          cand_j[w] = j;  // written always, kept by advancing w: no unpredictable branch
          cand_c[w] = cost;
          w += static_cast<int64_t>((V[j] - ce >= rm) | (ui - ce >= col_max_t[j]));
        }
        kept[i + 1] = w - start[i];
      }
    });
    for (int64_t i = 0; i < n; ++i) kept[i + 1] += kept[i];
    out_cols = at::empty({kept[n]}, at::kLong);
    out_cost = at::empty({kept[n]}, x.options());
    int64_t* oc = out_cols.data_ptr<int64_t>();
    T* ocost = out_cost.data_ptr<T>();
    std::copy(kept.begin(), kept.end(), out_ptr.data_ptr<int64_t>());
    at::parallel_for(0, n, 256, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t len = kept[i + 1] - kept[i];
        for (int64_t k = 0; k < len; ++k) {
          oc[kept[i] + k] = cand_j[start[i] + k];
          ocost[kept[i] + k] = cand_c[start[i] + k];
        }
      }
    });
  });
  return {out_ptr, out_cols, out_cost};
}

at::Tensor sparse_softmin(const at::Tensor& coarse_ptr_, const at::Tensor& coarse_cols_, const at::Tensor& parent_,
                          const at::Tensor& x_, const at::Tensor& y_, const at::Tensor& v_, double inv_eps) {
  check_csr(coarse_ptr_, coarse_cols_, "sparse_softmin coarse pairs");
  const at::Tensor cp = coarse_ptr_.contiguous(), cc = coarse_cols_.contiguous();
  at::Tensor x, y;  // not a structured binding: lambdas may capture those only from C++20 on
  std::tie(x, y) = check_points(x_, y_, "sparse_softmin");
  const int64_t n = x.size(0), d = x.size(1);
  check_vector(parent_, n, at::kLong, "parent");
  check_vector(v_, y.size(0), x.scalar_type(), "v");
  const at::Tensor parent = parent_.contiguous(), v = v_.contiguous();
  at::Tensor out = at::empty({n}, at::kDouble);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "drot::sparse_softmin", [&] {
    using T = scalar_t;
    const ParentRows<T> rows{cp.data_ptr<int64_t>(), cc.data_ptr<int64_t>(), parent.data_ptr<int64_t>(),
                             x.data_ptr<T>(), y.data_ptr<T>(), v.data_ptr<T>(), d, static_cast<T>(inv_eps)};
    double* o = out.data_ptr<double>();
    at::parallel_for(0, n, 256, [&](int64_t b, int64_t e) {
      std::vector<T> z;  // the row's scores
      for (int64_t i = b; i < e; ++i) {
        const T M = rows.scores(i, z);
        if (std::isinf(M)) { o[i] = kNegInf; continue; }
        double S = 0.0;
        for (const T zk : z) S += std::exp(zk - M);
        o[i] = std::log(S) + static_cast<double>(M);
      }
    });
  });
  return out;
}

// The projection: every point i of row parent[i] takes the softmax over that row's pairs of
// v_J - C(x_i, y_J) / ε as its plan row; returns its weighted mean of y_raw [n, E], its Σ_J P_iJ
// (|x_i - y_J|² + spread_J) [n], the plan's columns Σ_i a_i P_iJ [m] and the row's
// log Σ_J exp(v_J - C(x_i, y_J) / ε) [n] (all float64).
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> sparse_project(
    const at::Tensor& ptr_, const at::Tensor& cols_, const at::Tensor& parent_, const at::Tensor& x_,
    const at::Tensor& y_, const at::Tensor& v_, const at::Tensor& y_raw_, const at::Tensor& spread_,
    const at::Tensor& a_, double inv_eps) {
  check_csr(ptr_, cols_, "sparse_project pairs");
  const at::Tensor cp = ptr_.contiguous(), cc = cols_.contiguous();
  at::Tensor x, y;  // not a structured binding: lambdas may capture those only from C++20 on
  std::tie(x, y) = check_points(x_, y_, "sparse_project");
  const int64_t n = x.size(0), m = y.size(0), d = x.size(1);
  TORCH_CHECK(y_raw_.dim() == 2 && y_raw_.size(0) == m && y_raw_.scalar_type() == x.scalar_type(),
              "drot: sparse_project y_raw must be [", m, ", E] in x's dtype, got ", y_raw_.sizes());
  check_vector(parent_, n, at::kLong, "parent");
  check_vector(v_, m, x.scalar_type(), "v");
  check_vector(spread_, m, x.scalar_type(), "spread");
  check_vector(a_, n, at::kDouble, "a");
  const at::Tensor parent = parent_.contiguous(), v = v_.contiguous(), y_raw = y_raw_.contiguous();
  const at::Tensor spread = spread_.contiguous(), a = a_.contiguous();
  const int64_t E = y_raw.size(1);
  at::Tensor targets = at::zeros({n, E}, at::kDouble), cost = at::zeros({n}, at::kDouble);
  at::Tensor col = at::zeros({m}, at::kDouble);
  at::Tensor lse = at::full({n}, kNegInf, at::kDouble);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "drot::sparse_project", [&] {
    using T = scalar_t;
    const int64_t* P = cp.data_ptr<int64_t>();
    const int64_t* CJ = cc.data_ptr<int64_t>();
    const int64_t* par = parent.data_ptr<int64_t>();
    const ParentRows<T> rows{P, CJ, par, x.data_ptr<T>(), y.data_ptr<T>(), v.data_ptr<T>(), d, static_cast<T>(inv_eps)};
    const T* YR = y_raw.data_ptr<T>();
    const T* SP = spread.data_ptr<T>();
    const double* A = a.data_ptr<double>();
    double* out = targets.data_ptr<double>();
    double* cst = cost.data_ptr<double>();
    double* L = lse.data_ptr<double>();
    const int nt = threads();
    std::vector<double> cols(static_cast<size_t>(nt * m), 0.0);
    at::parallel_for(0, n, 256, [&](int64_t b, int64_t e) {
      double* cl = cols.data() + thread_slot() * m;
      std::vector<T> z, h;  // the row's scores and costs
      std::vector<double> w;  // its weights
      for (int64_t i = b; i < e; ++i) {
        const T M = rows.scores(i, z, &h);
        if (std::isinf(M)) continue;
        const int64_t c = par[i];
        double den = 0.0, sq = 0.0;
        double* o = out + i * E;
        w.resize(z.size());
        for (size_t k = 0; k < z.size(); ++k) {
          const int64_t j = CJ[P[c] + static_cast<int64_t>(k)];
          const double wk = std::exp(z[k] - M);
          w[k] = wk;
          den += wk;
          sq += wk * (2.0 * static_cast<double>(h[k]) + static_cast<double>(SP[j]));
          for (int64_t q = 0; q < E; ++q) o[q] += wk * static_cast<double>(YR[j * E + q]);
        }
        for (int64_t q = 0; q < E; ++q) o[q] /= den;
        cst[i] = sq / den;
        L[i] = std::log(den) + static_cast<double>(M);
        const double share = A[i] / den;
        for (size_t k = 0; k < z.size(); ++k) cl[CJ[P[c] + static_cast<int64_t>(k)]] += share * w[k];
      }
    });
    double* co = col.data_ptr<double>();
    at::parallel_for(0, m, 4096, [&](int64_t b, int64_t e) {
      for (int64_t j = b; j < e; ++j)
        for (int t = 0; t < nt; ++t) co[j] += cols[t * m + j];
    });
  });
  return {targets, cost, col, lse};
}

}  // namespace drot

TORCH_LIBRARY_FRAGMENT(drot, m) {
  m.def("sparse_log_sums(Tensor ptr, Tensor cols, Tensor cost, Tensor u, Tensor v, float inv_eps) -> (Tensor, Tensor)");
  m.def("sparse_support(Tensor ptr, Tensor cols, Tensor cost, Tensor u, Tensor v, float inv_eps, "
        "float log_truncation) -> Tensor");
  m.def("sparse_refine(Tensor coarse_ptr, Tensor coarse_cols, Tensor row_parent, Tensor col_start, "
        "Tensor col_order, Tensor x, Tensor y, Tensor u, Tensor v, float inv_eps, float log_truncation) "
        "-> (Tensor, Tensor, Tensor)");
  m.def("sparse_project(Tensor ptr, Tensor cols, Tensor parent, Tensor x, Tensor y, Tensor v, Tensor y_raw, "
        "Tensor spread, Tensor a, float inv_eps) -> (Tensor, Tensor, Tensor, Tensor)");
  m.def("sparse_softmin(Tensor coarse_ptr, Tensor coarse_cols, Tensor parent, Tensor x, Tensor y, Tensor v, "
        "float inv_eps) -> Tensor");
}

TORCH_LIBRARY_IMPL(drot, CPU, m) {
  m.impl("sparse_log_sums", &drot::sparse_log_sums);
  m.impl("sparse_support", &drot::sparse_support);
  m.impl("sparse_refine", &drot::sparse_refine);
  m.impl("sparse_softmin", &drot::sparse_softmin);
  m.impl("sparse_project", &drot::sparse_project);
}
