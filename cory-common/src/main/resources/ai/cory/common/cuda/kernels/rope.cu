// Rotary position embedding, Hugging Face's rotate_half convention (common.model.Rope): in a
// head of size D feature i pairs with i + D/2, both rotated by pos * theta^(-2i/D). The angle
// tables (maxPositions, D/2) are computed on the host in double and uploaded once.

// Rotates in place heads [0, heads) starting at column col0 of each row of x (N, width); row r
// is at position positions[r]; inverse != 0 rotates back (the backward pass).
extern "C" __global__ void rope_apply(float* x, const int* positions, const float* cos_t,
    const float* sin_t, int rows, int width, int col0, int heads, int head_dim, int inverse) {
  int half = head_dim / 2;
  long long n = (long long) rows * heads * half;
  float sign = inverse ? -1.0f : 1.0f;
  CORY_FOR(i, n) {
    int k = (int) (i % half);
    long long rh = i / half;
    int h = (int) (rh % heads);
    long long r = rh / heads;
    long long at = r * width + col0 + (long long) h * head_dim;
    int t = positions[r] * half + k;
    float c = cos_t[t];
    float s = sign * sin_t[t];
    float a = x[at + k];
    float b = x[at + half + k];
    x[at + k] = a * c - b * s;
    x[at + half + k] = b * c + a * s;
  }
}
