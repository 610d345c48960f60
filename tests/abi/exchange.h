/*
 * exchange.h - what request and response number `id` contain, for every protocol the
 * ring tests exchange.  Written with Xen's field names, so the same text compiles
 * against pvio's headers and against Xen's.  Slots are filled field by field (never
 * with a struct copy) so both implementations leave identical bytes on the page.
 */
#ifndef PV_TEST_EXCHANGE_H
#define PV_TEST_EXCHANGE_H

#define BLK_FILL_REQ(r, id_) do {						\
	unsigned int i_;							\
	(r)->operation = (uint8_t)((id_) & 1);					\
	(r)->nr_segments = (uint8_t)(1 + (id_) % 11);				\
	(r)->handle = (uint16_t)((id_) * 7);					\
	(r)->id = (id_);							\
	(r)->sector_number = (id_) * 8 + 0x100000000ull;			\
	for (i_ = 0; i_ < 11; i_++) {						\
		(r)->seg[i_].gref = (uint32_t)((id_) * 16 + i_);		\
		(r)->seg[i_].first_sect = (uint8_t)(i_ % 8);			\
		(r)->seg[i_].last_sect = 7;					\
	}									\
} while (0)

static inline int blk_req_ok_(uint8_t op, uint8_t nseg, uint16_t handle, uint64_t id,
			      uint64_t sector, const uint32_t *gref, const uint8_t *fs,
			      const uint8_t *ls, uint64_t want)
{
	unsigned int i;

	if (op != (uint8_t)(want & 1) || nseg != (uint8_t)(1 + want % 11) ||
	    handle != (uint16_t)(want * 7) || id != want || sector != want * 8 + 0x100000000ull)
		return 0;
	for (i = 0; i < 11; i++)
		if (gref[i] != (uint32_t)(want * 16 + i) || fs[i] != i % 8 || ls[i] != 7)
			return 0;
	return 1;
}

#define BLK_REQ_OK(r, want) ({							\
	uint32_t g_[11]; uint8_t f_[11], l_[11]; unsigned int j_;		\
	for (j_ = 0; j_ < 11; j_++) {						\
		g_[j_] = (r)->seg[j_].gref;					\
		f_[j_] = (r)->seg[j_].first_sect;				\
		l_[j_] = (r)->seg[j_].last_sect;				\
	}									\
	blk_req_ok_((r)->operation, (r)->nr_segments, (r)->handle, (r)->id,	\
		    (r)->sector_number, g_, f_, l_, (want));			\
})

#define BLK_FILL_RSP(r, id_) do {						\
	(r)->id = (id_);							\
	(r)->operation = (uint8_t)((id_) & 1);					\
	(r)->status = (int16_t)((id_) % 3 == 0 ? -1 : 0);			\
} while (0)

#define BLK_RSP_OK(r, want) ((r)->id == (want) &&				\
	(r)->operation == (uint8_t)((want) & 1) &&				\
	(r)->status == (int16_t)((want) % 3 == 0 ? -1 : 0))

#define TX_FILL_REQ(r, id_) do {						\
	(r)->gref = (uint32_t)((id_) * 3);					\
	(r)->offset = (uint16_t)((id_) % 4096);					\
	(r)->flags = (uint16_t)((id_) & 0xf);					\
	(r)->id = (uint16_t)(id_);						\
	(r)->size = (uint16_t)((id_) * 5);					\
} while (0)

#define TX_REQ_OK(r, want) ((r)->gref == (uint32_t)((want) * 3) &&		\
	(r)->offset == (uint16_t)((want) % 4096) &&				\
	(r)->flags == (uint16_t)((want) & 0xf) &&				\
	(r)->id == (uint16_t)(want) && (r)->size == (uint16_t)((want) * 5))

#define TX_FILL_RSP(r, id_) do {						\
	(r)->id = (uint16_t)(id_);						\
	(r)->status = (int16_t)((id_) % 2 ? 0 : -2);				\
} while (0)

#define TX_RSP_OK(r, want) ((r)->id == (uint16_t)(want) &&			\
	(r)->status == (int16_t)((want) % 2 ? 0 : -2))

#endif
