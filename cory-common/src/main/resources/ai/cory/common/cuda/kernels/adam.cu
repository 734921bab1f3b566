// Adam as the CPU optimizer (worker.train.AdamOptimizer, ND4J's updater): m = b1 m + (1-b1) g,
// v = b2 v + (1-b2) g^2, update = step_size * m / (sqrt(v) + eps'), params -= update, with
// step_size = lr sqrt(1 - b2^t) / (1 - b1^t) and eps' (eps sqrt(1 - b2^t) for PyTorch's
// convention) computed on the host per step. The gradient buffer is overwritten with the update,
// as on the CPU.
extern "C" __global__ void adam_step(float* params, float* m, float* v, float* grads,
    long long n, float step_size, float beta1, float beta2, float eps) {
  CORY_FOR(i, n) {
    float g = grads[i];
    float mi = beta1 * m[i] + (1.0f - beta1) * g;
    float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    float u = step_size * mi / (sqrtf(vi) + eps);
    grads[i] = u;
    params[i] -= u;
  }
}
