#ifndef RAVELIN_SRS_H
#define RAVELIN_SRS_H
/*
 * srs: the Sender Rewriting Scheme (SRS0 form) for forwarded mail.
 * A message forwarded to another server leaves with the envelope sender
 *   SRS0=HHHH=TT=orig-domain=orig-local@our-domain
 * so the far side checks SPF against our domain; a bounce that comes back
 * to that address goes on to the original sender only when HHHH (an
 * HMAC-SHA-256 of TT, domain and local part under a key of ours, cut to
 * 20 bits, base32) matches and TT (the day it was made, base32, modulo
 * 1024 days) is at most SRS_MAX_AGE_DAYS old.  Pure code, no I/O.
 */
#include <stdint.h>

#include "lib/str.h"

#define SRS_KEY_SIZE 32
/* An SRS address is an address like any: at most 254 octets (RFC 5321
 * 4.5.3.1.3, a path of 256 with its brackets).  A sender whose rewritten
 * form would be longer is refused (it then goes as it came), never cut. */
#define SRS_MAX_ADDRESS 254
/* How long a bounce to a rewritten sender is taken back: three weeks
 * covers the longest retry schedules of other servers (5 days usually). */
#define SRS_MAX_AGE_DAYS 21

enum srs_result {
	SRS_OK = 0,
	SRS_NOT_SRS = -1,  /* not an SRS0 address: some other address */
	SRS_INVALID = -2,  /* SRS0 but malformed, forged or too old */
};

/* srs_encode writes the SRS0 form of sender at domain, made at now (unix
 * seconds), into out (NUL-terminated); -1 for the null sender, a sender
 * without '@' or a result longer than SRS_MAX_ADDRESS. */
int srs_encode(const unsigned char key[SRS_KEY_SIZE], struct str sender, struct str domain,
	       int64_t now, char out[SRS_MAX_ADDRESS + 1]);
/* srs_decode finds the original sender of an SRS0 address (whatever its
 * domain: the caller checks it is ours) into out: SRS_OK, SRS_NOT_SRS, or
 * SRS_INVALID (a bad hash, a day more than SRS_MAX_AGE_DAYS ago or in
 * the future, a malformed address). */
enum srs_result srs_decode(const unsigned char key[SRS_KEY_SIZE], struct str address,
			   int64_t now, char out[SRS_MAX_ADDRESS + 1]);

#endif
