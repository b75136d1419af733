/* srs: SRS0 sender rewriting (see srs.h). */
#include "srs.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

static const char srs_base32[] = "abcdefghijklmnopqrstuvwxyz234567";
#define SRS_DAY 86400
/* TT counts days modulo 32 * 32. */
#define SRS_DAYS_WRAP 1024
#define SRS_HASH_LEN 4

/* srs_day is today's TT value. */
static unsigned srs_day(int64_t now)
{
	return (unsigned)((now < 0 ? 0 : now) / SRS_DAY % SRS_DAYS_WRAP);
}

/* srs_hash writes the 4 base32 characters for tt, domain and local,
 * case-folded (other servers may change the case of what they return). */
static void srs_hash(const unsigned char key[SRS_KEY_SIZE], struct str tt, struct str domain,
		     struct str local, char out[SRS_HASH_LEN])
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	const struct str parts[] = { tt, STR("="), domain, STR("="), local };

	crypto_auth_hmacsha256_init(&st, key, SRS_KEY_SIZE);
	for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++)
		for (size_t i = 0; i < parts[p].len; i++) {
			unsigned char c = (unsigned char)str_lower_char(parts[p].ptr[i]);
			crypto_auth_hmacsha256_update(&st, &c, 1);
		}
	crypto_auth_hmacsha256_final(&st, mac);
	uint32_t bits = (uint32_t)mac[0] << 16 | (uint32_t)mac[1] << 8 | mac[2];
	for (int i = 0; i < SRS_HASH_LEN; i++)
		out[i] = srs_base32[(bits >> (19 - 5 * i)) & 31];
}

int srs_encode(const unsigned char key[SRS_KEY_SIZE], struct str sender, struct str domain,
	       int64_t now, char out[SRS_MAX_ADDRESS + 1])
{
	long at = -1;
	char tt[2], hash[SRS_HASH_LEN];

	for (size_t i = 0; i < sender.len; i++)
		if (sender.ptr[i] == '@')
			at = (long)i;
	if (at <= 0 || (size_t)at + 1 == sender.len || domain.len == 0)
		return -1;
	struct str local = str_from(sender.ptr, (size_t)at);
	struct str sdomain = str_sub(sender, (size_t)at + 1, sender.len);
	if (str_chr(sdomain, '=') >= 0)
		return -1;
	unsigned day = srs_day(now);
	tt[0] = srs_base32[day / 32];
	tt[1] = srs_base32[day % 32];
	srs_hash(key, str_from(tt, 2), sdomain, local, hash);
	int n = snprintf(out, SRS_MAX_ADDRESS + 1, "SRS0=%.4s=%.2s=%.*s=%.*s@%.*s", hash, tt,
			 (int)sdomain.len, sdomain.ptr, (int)local.len, local.ptr, (int)domain.len,
			 domain.ptr);
	if (n < 0 || n > SRS_MAX_ADDRESS) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* srs_b32 is c's value in base32 (either case), or -1. */
static int srs_b32(char c)
{
	const char *p = strchr(srs_base32, str_lower_char(c));
	return c == '\0' || p == NULL ? -1 : (int)(p - srs_base32);
}

enum srs_result srs_decode(const unsigned char key[SRS_KEY_SIZE], struct str address,
			   int64_t now, char out[SRS_MAX_ADDRESS + 1])
{
	long at = -1;
	char hash[SRS_HASH_LEN];

	out[0] = '\0';
	if (!str_case_prefix(address, STR("SRS0=")))
		return SRS_NOT_SRS;
	for (size_t i = 0; i < address.len; i++)
		if (address.ptr[i] == '@')
			at = (long)i;
	if (at < 0 || address.len > SRS_MAX_ADDRESS)
		return SRS_INVALID;
	/* HHHH=TT=domain=local */
	struct str rest = str_sub(address, 5, (size_t)at - 5);
	if (rest.len < SRS_HASH_LEN + 4 || rest.ptr[SRS_HASH_LEN] != '=' ||
	    rest.ptr[SRS_HASH_LEN + 3] != '=')
		return SRS_INVALID;
	struct str given = str_from(rest.ptr, SRS_HASH_LEN);
	struct str tt = str_from(rest.ptr + SRS_HASH_LEN + 1, 2);
	struct str tail = str_sub(rest, SRS_HASH_LEN + 4, rest.len);
	long eq = str_chr(tail, '=');
	if (eq <= 0 || (size_t)eq + 1 == tail.len)
		return SRS_INVALID;
	struct str domain = str_from(tail.ptr, (size_t)eq);
	struct str local = str_sub(tail, (size_t)eq + 1, tail.len);
	int hi = srs_b32(tt.ptr[0]), lo = srs_b32(tt.ptr[1]);
	if (hi < 0 || lo < 0)
		return SRS_INVALID;
	unsigned age = (srs_day(now) + SRS_DAYS_WRAP - (unsigned)(hi * 32 + lo)) % SRS_DAYS_WRAP;
	if (age > SRS_MAX_AGE_DAYS)
		return SRS_INVALID;
	srs_hash(key, tt, domain, local, hash);
	unsigned diff = 0;
	for (size_t i = 0; i < SRS_HASH_LEN; i++)
		diff |= (unsigned)(str_lower_char(given.ptr[i]) ^ hash[i]);
	if (diff != 0)
		return SRS_INVALID;
	snprintf(out, SRS_MAX_ADDRESS + 1, "%.*s@%.*s", (int)local.len, local.ptr, (int)domain.len,
		 domain.ptr);
	return SRS_OK;
}
