/*
 * abi_table.h - expands abi_fields.def into the entries of one side's table.  The
 * includer defines SRING (its shared-ring struct type) first and includes it inside
 * an array initialiser.
 */
#define ABI_STRUCT(s) { "sizeof(struct " #s ")", (long long)sizeof(struct s), 0 },
#define ABI_FIELD(s, f) \
	{ "struct " #s "." #f, (long long)offsetof(struct s, f), sizeof(((struct s *)0)->f) },
#define ABI_CONST(c) { #c, (long long)(c), 0 },
#ifdef ABI_SIDE_XEN
#define ABI_SRING(pvio, xen) \
	{ "sring." #pvio, (long long)offsetof(SRING, xen), sizeof(((SRING *)0)->xen) },
#define ABI_SRING_START(pvio, xen) { "sring." #pvio, (long long)offsetof(SRING, xen), 0 },
#else
#define ABI_SRING_START(pvio, xen) { "sring." #pvio, (long long)offsetof(SRING, pvio), 0 },
#define ABI_SRING(pvio, xen) \
	{ "sring." #pvio, (long long)offsetof(SRING, pvio), sizeof(((SRING *)0)->pvio) },
#endif
#include "abi_fields.def"
#undef ABI_STRUCT
#undef ABI_FIELD
#undef ABI_CONST
#undef ABI_SRING
#undef ABI_SRING_START
