// libxcrypt (Debian's libcrypt1): bcrypt ($2b$, $2y$) hashing and checking through crypt_r,
// behind non-variadic wrappers that keep the 32 KiB `struct crypt_data` off the stack.
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

/// Hashes `phrase` with `setting` (a salt from `ccrypt_gensalt`, or a stored hash to check
/// against) into `out`; returns 0, or -1 when crypt_r fails (its failure token starts with `*`).
static inline int ccrypt_hash(const char *phrase, const char *setting, char *out, size_t size) {
    struct crypt_data *data = calloc(1, sizeof(struct crypt_data));
    if (data == NULL) return -1;
    const char *result = crypt_r(phrase, setting, data);
    int status = -1;
    if (result != NULL && result[0] != '*' && strlen(result) < size) {
        strcpy(out, result);
        status = 0;
    }
    explicit_bzero(data, sizeof(struct crypt_data));
    free(data);
    return status;
}

/// A new bcrypt setting (`$2b$`, `cost` rounds as a power of two) from the system's random
/// source; returns 0 or -1.
static inline int ccrypt_gensalt_bcrypt(unsigned long cost, char *out, size_t size) {
    if (size < CRYPT_GENSALT_OUTPUT_SIZE) return -1;
    return crypt_gensalt_rn("$2b$", cost, NULL, 0, out, (int)size) == NULL ? -1 : 0;
}
