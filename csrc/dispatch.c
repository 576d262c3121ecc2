/* SPDX-License-Identifier: MIT
 * dispatch.c - the table of SIMD paths and the choice of the one in use
 * (detected once, overridable by TINYNN_SIMD or set_simd), as BLIS keeps a
 * context per architecture. Adding a path: write path_<name>.c, list it
 * here and in setup.py's PATH_FLAGS.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

extern const struct tnn_path tnn_path_portable;
#if defined(__x86_64__)
extern const struct tnn_path tnn_path_avx2, tnn_path_avx512;
#endif
#if defined(__aarch64__)
extern const struct tnn_path tnn_path_neon;
#endif

/* Slowest first: the best usable path is the last usable one. */
static const struct tnn_path *const all_paths[] = {
    &tnn_path_portable,
#if defined(__x86_64__)
    &tnn_path_avx2,
    &tnn_path_avx512,
#endif
#if defined(__aarch64__)
    &tnn_path_neon,
#endif
};
#define PATH_COUNT ((int)(sizeof all_paths / sizeof all_paths[0]))

/* Written once by the first kernel call or by set_simd (which runs with the
 * GIL held); an atomic pointer so that kernels running on other threads
 * read a whole value. */
static const struct tnn_path *_Atomic active_path = NULL;

const struct tnn_path *const *tnn_paths(int *count)
{
    *count = PATH_COUNT;
    return all_paths;
}

int tnn_path_usable(const struct tnn_path *path)
{
    return path->built_for_isa && path->cpu_supports();
}

static const struct tnn_path *find_path(const char *name)
{
    for (int i = 0; i < PATH_COUNT; i++)
        if (strcmp(all_paths[i]->name, name) == 0)
            return all_paths[i];
    return NULL;
}

static const struct tnn_path *initial_path(void)
{
    /* TINYNN_SIMD names a path to force; an unknown or unusable one falls
     * back to the best path rather than failing at import (the Python layer
     * warns about it). */
    const char *forced = getenv("TINYNN_SIMD");
    const struct tnn_path *path = forced ? find_path(forced) : NULL;
    if (path && tnn_path_usable(path))
        return path;
    for (int i = PATH_COUNT - 1; i > 0; i--)
        if (tnn_path_usable(all_paths[i]))
            return all_paths[i];
    return &tnn_path_portable;
}

const struct tnn_path *tnn_path_active(void)
{
    const struct tnn_path *path = active_path;
    if (!path) {
        path = initial_path();
        active_path = path;
    }
    return path;
}

int tnn_path_select(const char *name)
{
    const struct tnn_path *path = find_path(name);
    if (!path)
        return -1;
    if (!tnn_path_usable(path))
        return -2;
    active_path = path;
    return 0;
}
