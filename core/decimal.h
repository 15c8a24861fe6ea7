/* decimal.h - unsigned integers in decimal, without printf (hot paths). */
#ifndef GB_CORE_DECIMAL_H
#define GB_CORE_DECIMAL_H

#define GB_DECIMAL_MAX 24

/* Writes v in decimal at the end of buf; returns where the digits start
 * (they end at buf + GB_DECIMAL_MAX, without a NUL). */
static inline char *gb_decimal(char buf[GB_DECIMAL_MAX], unsigned long long v)
{
	char *p = buf + GB_DECIMAL_MAX;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return p;
}

#endif
