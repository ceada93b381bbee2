/* The body of the native Jacobians for one floating type, included once per type by
 * native_kernel.c with REAL (the type), NAME(f) (a suffixed name) and GEMM (the BLAS routine)
 * defined. Matrices are row-major, as torch stores them; see native_kernel.c for the maths. */

/* C[m×n] = op(A)[m×k] · op(B)[k×n], all row-major: the column-major BLAS computes
 * Cᵀ = op(B)ᵀ op(A)ᵀ from the same memory, so the operands swap and the flags stay. A product of
 * fewer than net->serial_macs multiply-adds runs on one thread: starting and joining the others
 * costs more than they save on it (the plan measures where that is). */
static void NAME(mm)(const struct NAME(net) *net, char ta, char tb, int m, int n, int k,
                     const REAL *A, int lda, const REAL *B, int ldb, REAL *C, int ldc) {
    const REAL one = 1, zero = 0;
    const int serial = net->threads > 1 && BLAS.set_threads
                       && (long long)m * n * k < net->serial_macs;
    int single = 1, before = serial ? BLAS.set_threads(&single) : 0;
    BLAS.GEMM(&tb, &ta, &n, &m, &k, &one, B, &ldb, A, &lda, &zero, C, &ldc);
    if (serial) BLAS.set_threads(&before);
}

/* a = act(h + b) in place over n rows of k, b broadcast over the rows (NULL: no bias). */
static void NAME(activate)(int act, REAL *h, const REAL *b, int n, int k) {
    for (int r = 0; r < n; r++) {
        REAL *row = h + (size_t)r * k;
        if (b) for (int j = 0; j < k; j++) row[j] += b[j];
        if (act == ACT_TANH) for (int j = 0; j < k; j++) row[j] = TANH(row[j]);
        else if (act == ACT_SIGMOID) for (int j = 0; j < k; j++) row[j] = 1 / (1 + EXP(-row[j]));
        else for (int j = 0; j < k; j++) row[j] = row[j] > 0 ? row[j] : 0;
    }
}

/* s = act'(h) from a = act(h), k values: tanh' = 1 - a², sigmoid' = a(1 - a), relu' = [a > 0].
 * One branch per call, not per element, so that every loop here and each scaling that uses s
 * vectorises. */
static void NAME(slopes)(int act, const REAL *a, int k, REAL *s) {
    if (act == ACT_TANH) for (int j = 0; j < k; j++) s[j] = 1 - a[j] * a[j];
    else if (act == ACT_SIGMOID) for (int j = 0; j < k; j++) s[j] = a[j] * (1 - a[j]);
    else for (int j = 0; j < k; j++) s[j] = a[j] > 0 ? 1 : 0;
}

/* The primal pass: acts[i] = a_{i+1} = act(h_{i+1}) for i = 0..L-1, each N×K. */
static void NAME(primal)(const struct NAME(net) *net, const REAL *x) {
    const int N = net->N, D = net->D, K = net->K;
    REAL *a = net->acts;
    NAME(mm)(net, 'N', 'T', N, K, D, x, D, net->W[0], D, a, K);  /* H_1 = X W_1ᵀ */
    NAME(activate)(net->act, a, net->b[0], N, K);
    for (int i = 1; i < net->L; i++) {
        REAL *next = a + (size_t)N * K;
        NAME(mm)(net, 'N', 'T', N, K, K, a, K, net->W[i], K, next, K);  /* H_{i+1} = A_i W_{i+1}ᵀ */
        NAME(activate)(net->act, next, net->b[i], N, K);
        a = next;
    }
}

/* rows[n][r][k] *= act'(h)[n][k]: the diagonal S of sample n scales every row of its block. */
static void NAME(scale_rows)(const struct NAME(net) *net, REAL *rows, const REAL *a, int R) {
    const int N = net->N, K = net->K;
    const REAL *s = net->slopes;
    NAME(slopes)(net->act, a, N * K, net->slopes);  /* every sample's at once: N×K */
    const long long total = (long long)N * R;
    const int team = team_for(net->threads, total * K);
    #pragma omp parallel for num_threads(team) schedule(static) if (team > 1)
    for (long long nr = 0; nr < total; nr++) {
        const REAL *sn = s + (nr / R) * K;
        REAL *row = rows + nr * K;
        for (int k = 0; k < K; k++) row[k] *= sn[k];
    }
}

/* Forward mode: tangents kept transposed, Tᵀ of shape (N·D)×K, the batch folded into the rows.
 * Uᵀ_1 = W_1ᵀ ⊙ s_1;  Tᵀ_{i+1} = Uᵀ_i W_{i+1}ᵀ, Uᵀ_{i+1} = Tᵀ_{i+1} ⊙ s_{i+1};  J_n = W_F U_nᵀ. */
static void NAME(forward)(const struct NAME(net) *net, const REAL *x, REAL *out) {
    const int N = net->N, D = net->D, K = net->K, P = net->P, L = net->L, act = net->act;
    NAME(primal)(net, x);
    REAL *u = net->work0, *t = net->work1;
    const REAL *W1 = net->W[0];
    const REAL *s = net->slopes;
    NAME(slopes)(act, net->acts, N * K, net->slopes);
    const int team = team_for(net->threads, (long long)N * D * K);
    #pragma omp parallel for num_threads(team) schedule(static) if (team > 1)
    for (int n = 0; n < N; n++) {
        REAL *block = u + (size_t)n * D * K;
        for (int k = 0; k < K; k++)
            for (int d = 0; d < D; d++)
                block[(size_t)d * K + k] = W1[(size_t)k * D + d] * s[(size_t)n * K + k];
    }
    for (int i = 1; i < L; i++) {
        NAME(mm)(net, 'N', 'T', N * D, K, K, u, K, net->W[i], K, t, K);
        NAME(scale_rows)(net, t, net->acts + (size_t)i * N * K, D);
        REAL *swap = u; u = t; t = swap;
    }
    if (net->final_t) {
        NAME(mm)(net, 'N', 'T', N * D, P, K, u, K, net->W[L], K, t, P);  /* Jᵀ, all samples */
        for (int n = 0; n < N; n++)
            for (int p = 0; p < P; p++)
                for (int d = 0; d < D; d++)
                    out[((size_t)n * P + p) * D + d] = t[((size_t)n * D + d) * P + p];
        return;
    }
    for (int n = 0; n < N; n++)
        NAME(mm)(net, 'N', 'T', P, D, K, net->W[L], K, u + (size_t)n * D * K, K,
                 out + (size_t)n * P * D, D);
}

/* Reverse mode: adjoints A of shape (N·P)×K, the batch folded into the rows.
 * U_L = W_F ⊙ s_L;  A_i = U_{i+1} W_{i+1}, U_i = A_i ⊙ s_i;  J = U_1 W_1, (N·P)×D = N×P×D. */
static void NAME(reverse)(const struct NAME(net) *net, const REAL *x, REAL *out) {
    const int N = net->N, D = net->D, K = net->K, P = net->P, L = net->L, act = net->act;
    NAME(primal)(net, x);
    REAL *u = net->work0, *t = net->work1;
    for (int n = 0; n < N; n++)
        memcpy(u + (size_t)n * P * K, net->W[L], sizeof(REAL) * (size_t)P * K);
    NAME(scale_rows)(net, u, net->acts + (size_t)(L - 1) * N * K, P);
    for (int i = L - 1; i >= 1; i--) {
        NAME(mm)(net, 'N', 'N', N * P, K, K, u, K, net->W[i], K, t, K);
        NAME(scale_rows)(net, t, net->acts + (size_t)(i - 1) * N * K, P);
        REAL *swap = u; u = t; t = swap;
    }
    NAME(mm)(net, 'N', 'N', N * P, D, K, u, K, net->W[0], D, out, D);
}

/* The chain bracketing for sample n: instruction q is 8 ints (out, left, right, s, m, k, c,
 * fold_left): slot out (m×c) = slot left (m×k) · S · slot right (k×c), S = diag(act'(h)) from
 * acts[s], folded into the left factor's columns (fold_left) or the right factor's rows, in
 * sample n's scratch. Slots 0..L are the weights, shared; a partial product's slot holds one
 * block per sample. The last instruction is the root: sample n's P×D Jacobian, into out_n.
 * `team` threads split the large scalings; the products use the BLAS's threads. */
static void NAME(program_sample)(const struct NAME(net) *net, int n, int team, REAL *out_n) {
    const int N = net->N, K = net->K, L = net->L;
    REAL *scaled = net->scratch + (size_t)n * net->scratch_size, *s = net->slopes + (size_t)n * K;
    for (int q = 0; q < net->n_instr; q++) {
        const int *in = net->program + 8 * q;
        const int m = in[4], k = in[5], c = in[6];
        const REAL *A = net->slots[in[1]] + (in[1] > L ? (size_t)n * m * k : 0);
        const REAL *B = net->slots[in[2]] + (in[2] > L ? (size_t)n * k * c : 0);
        REAL *C = q == net->n_instr - 1 ? out_n : net->slots[in[0]] + (size_t)n * m * c;
        NAME(slopes)(net->act, net->acts + ((size_t)in[3] * N + n) * K, k, s);
        const int split = team_for(team, (long long)(in[7] ? m : c) * k);
        if (in[7]) {
            #pragma omp parallel for num_threads(split) schedule(static) if (split > 1)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < k; j++) scaled[(size_t)i * k + j] = A[(size_t)i * k + j] * s[j];
            A = scaled;
        } else {
            #pragma omp parallel for num_threads(split) schedule(static) if (split > 1)
            for (int i = 0; i < k; i++)
                for (int j = 0; j < c; j++) scaled[(size_t)i * c + j] = B[(size_t)i * c + j] * s[i];
            B = scaled;
        }
        NAME(mm)(net, 'N', 'N', m, c, k, A, k, B, c, C, c);
    }
}

/* The chain bracketing for the batch: the samples one after another, each product on the
 * BLAS's threads; or (net->across, a tuned choice) the samples split over the threads, each
 * sample's products on one (inside the parallel region the BLAS runs single-threaded). */
static void NAME(program)(const struct NAME(net) *net, const REAL *x, REAL *out) {
    const int N = net->N, PD = net->P * net->D;
    NAME(primal)(net, x);
    if (net->across && net->threads > 1 && N > 1) {
        #pragma omp parallel for num_threads(net->threads) schedule(static)
        for (int n = 0; n < N; n++) NAME(program_sample)(net, n, 1, out + (size_t)n * PD);
    } else {
        for (int n = 0; n < N; n++)
            NAME(program_sample)(net, n, net->threads, out + (size_t)n * PD);
    }
}

/* One Jacobian, N×P×D into out, with the BLAS held to net->threads threads (0: as it is). */
int NAME(jb_jacobian)(const struct NAME(net) *net, const REAL *x, REAL *out) {
    if (!BLAS.GEMM) return -1;
    int before = (net->threads > 0 && BLAS.set_threads) ? BLAS.set_threads(&net->threads) : -1;
    if (net->kind == KIND_FORWARD) NAME(forward)(net, x, out);
    else if (net->kind == KIND_REVERSE) NAME(reverse)(net, x, out);
    else NAME(program)(net, x, out);
    if (before >= 0) BLAS.set_threads(&before);
    return 0;
}
