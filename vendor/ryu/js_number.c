// telebus's own (not part of Ryu): a double in the fixed notation of ECMAScript's Number::toString, from Ryu's
// shortest round-trip digits, written into WebAssembly memory. Built by scripts/build_float_wasm.sh.
#include "ryu/d2s.c"

// d2s() allocates; telebus never calls it, and there is no allocator here.
void* malloc(size_t n) {
  (void) n;
  return 0;
}

void* memcpy(void* dest, const void* src, size_t n) {
  char* d = (char*) dest;
  const char* s = (const char*) src;
  while (n--) *d++ = *s++;
  return dest;
}

// Writes the digits of m (olength of them) ending just before `end`.
static inline void put_digits(uint64_t m, char* end) {
  while (m >= 100000000) {
    const uint64_t q = div1e8(m);
    uint32_t c = (uint32_t) (m - 100000000 * q);
    m = q;
    for (int i = 0; i < 4; i++) {
      const uint32_t d = (c % 100) << 1;
      c /= 100;
      end -= 2;
      end[0] = DIGIT_TABLE[d];
      end[1] = DIGIT_TABLE[d + 1];
    }
  }
  uint32_t r = (uint32_t) m;
  while (r >= 100) {
    const uint32_t d = (r % 100) << 1;
    r /= 100;
    end -= 2;
    end[0] = DIGIT_TABLE[d];
    end[1] = DIGIT_TABLE[d + 1];
  }
  if (r >= 10) {
    end -= 2;
    end[0] = DIGIT_TABLE[r << 1];
    end[1] = DIGIT_TABLE[(r << 1) + 1];
  } else *--end = (char) ('0' + r);
}

// The text of f (finite, not zero, printed by ECMAScript in fixed notation: 1e-6 <= |f| < 1e21) at `out`;
// returns the offset just past it.
__attribute__((export_name("fixed"))) uint32_t fixed(double f, uint32_t out) {
  char* p = (char*) (uintptr_t) out;
  const uint64_t bits = double_to_bits(f);
  const uint64_t ieeeMantissa = bits & ((1ull << DOUBLE_MANTISSA_BITS) - 1);
  const uint32_t ieeeExponent = (uint32_t) ((bits >> DOUBLE_MANTISSA_BITS) & ((1u << DOUBLE_EXPONENT_BITS) - 1));
  if (bits >> 63) *p++ = '-';
  floating_decimal_64 v;
  if (!d2d_small_int(ieeeMantissa, ieeeExponent, &v)) v = d2d(ieeeMantissa, ieeeExponent);
  const int32_t k = (int32_t) decimalLength17(v.mantissa);
  // The decimal point goes after n digits (ECMAScript's n: the value is 0.d1d2…dk × 10^n).
  const int32_t n = k + v.exponent;
  if (n >= k) {
    put_digits(v.mantissa, p + k);
    p += k;
    for (int32_t i = k; i < n; i++) *p++ = '0';
  } else if (n > 0) {
    put_digits(v.mantissa, p + k + 1);
    for (int32_t i = 0; i < n; i++) p[i] = p[i + 1];
    p[n] = '.';
    p += k + 1;
  } else {
    *p++ = '0';
    *p++ = '.';
    for (int32_t i = n; i < 0; i++) *p++ = '0';
    put_digits(v.mantissa, p + k);
    p += k;
  }
  return (uint32_t) (uintptr_t) p;
}
