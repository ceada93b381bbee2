/* jacbench's native Jacobians: the hand-written forward and reverse modes as one C call each.
 *
 * At small shapes a torch mode spends its time in dispatch (1-4 us per operation, about 4 per
 * layer), not in arithmetic; here a whole Jacobian is one call from Python, the products go
 * straight to the BLAS routine torch itself links (sgemm_/dgemm_, resolved from the loaded torch
 * library and handed over by jb_set_blas) and the elementwise steps are plain loops. The
 * algorithms and their multiply-add counts are those of jacbench.modes.handwritten:
 *   forward:  Tᵀ_1 = W_1ᵀ ⊙ s_1,  Tᵀ_{i+1} = (Tᵀ_i W_{i+1}ᵀ) ⊙ s_{i+1},  J_n = W_F T_nᵀ
 *   reverse:  A_L = W_F ⊙ s_L,    A_i = (A_{i+1} W_{i+1}) ⊙ s_i,          J = A_1 W_1
 *   program:  the chain mode's bracketing (jacbench.theory.chain_plan) as a list of products
 *             Z = X S_m Y, S folded into the smaller of X and Y, for each sample in turn
 * with s_i = act'(h_i) computed from the stored a_i = act(h_i).
 * The caller owns every buffer (weights, activations, work space, output): no allocation here. */
#include <math.h>
#include <stddef.h>
#include <string.h>

enum { ACT_TANH = 0, ACT_SIGMOID = 1, ACT_RELU = 2 };
enum { KIND_FORWARD = 0, KIND_REVERSE = 1, KIND_PROGRAM = 2 };
/* Elementwise passes of at least this many values are split over the plan's threads (OpenMP:
 * the same libgomp pool torch's BLAS threads come from). */
#define PARALLEL_ELEMS 32768

/* How many of `threads` an elementwise pass over `elems` values uses: all of them once the pass
 * is big enough that splitting it pays for the fork and join (a scaling of a 64×4096×256
 * adjoint is 4 MB of memory traffic per layer); one below that. */
static inline int team_for(int threads, long long elems) {
    return threads > 1 && elems >= PARALLEL_ELEMS ? threads : 1;
}

typedef void (*sgemm_fn)(const char *, const char *, const int *, const int *, const int *,
                         const float *, const float *, const int *, const float *, const int *,
                         const float *, float *, const int *);
typedef void (*dgemm_fn)(const char *, const char *, const int *, const int *, const int *,
                         const double *, const double *, const int *, const double *,
                         const int *, const double *, double *, const int *);
typedef int (*threads_fn)(const int *);

static struct { sgemm_fn sgemm; dgemm_fn dgemm; threads_fn set_threads; } BLAS;

/* The BLAS entry points (Fortran sgemm_/dgemm_) and, where the BLAS has one, the call that sets
 * its thread count for the calling thread only (MKL's Fortran mkl_set_num_threads_local_, which
 * takes its argument by pointer, as torch's library exports it). */
void jb_set_blas(void *sgemm, void *dgemm, void *set_threads) {
    BLAS.sgemm = (sgemm_fn)sgemm;
    BLAS.dgemm = (dgemm_fn)dgemm;
    BLAS.set_threads = (threads_fn)set_threads;
}

#define DECLARE_NET(REAL, NAME)                                                                \
    struct NAME {                                                                              \
        int L, D, K, P, N, act, kind, threads;                                                 \
        const REAL *const *W; /* L + 1 weights: W_1 (K×D), W_2..W_L (K×K), W_F (P×K) */         \
        const REAL *const *b; /* L + 1 biases, or NULL pointers */                             \
        REAL *acts;           /* L×N×K activations */                                          \
        REAL *work0, *work1;  /* forward: N×max(D×K, D×P); reverse: N×P×K; program: none */     \
        /* KIND_PROGRAM: n_instr products of 8 ints (see NAME(program)) over slots: the L + 1 */ \
        /* weights, then one partial product each; scratch holds a factor scaled by S. */      \
        int n_instr;                                                                           \
        const int *program;                                                                    \
        REAL *const *slots;                                                                    \
        REAL *scratch;                                                                         \
        REAL *slopes; /* N×K values of act'(h) */                                              \
        long long serial_macs; /* products smaller than this run on one thread */              \
        int final_t; /* forward: form Jᵀ for the batch in one product, then transpose */        \
        long long scratch_size; /* program: one sample's share of scratch */                   \
        int across; /* program: split the samples, not the products, over the threads */       \
    };
DECLARE_NET(float, net_f32)
DECLARE_NET(double, net_f64)

#define REAL float
#define NAME(f) f##_f32
#define GEMM sgemm
#define TANH tanhf
#define EXP expf
#include "native_kernel.h"
#undef REAL
#undef NAME
#undef GEMM
#undef TANH
#undef EXP

#define REAL double
#define NAME(f) f##_f64
#define GEMM dgemm
#define TANH tanh
#define EXP exp
#include "native_kernel.h"
