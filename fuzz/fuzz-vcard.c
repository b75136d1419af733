/*
 * fuzz-vcard: vcard_validate on any bytes, then vcard_match with a filter
 * that exercises text, parameter and absence tests under each collation;
 * checks that an accepted card has a UID and a version and that matching
 * agrees with validation about what is a card.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "ical/vcard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str in = str_from((const char *)data, size);
	struct vcard_info info;
	const char *pre = NULL, *error = NULL;

	int valid = vcard_validate(in, &info, &pre, &error);
	if (valid == 0)
		assert(info.uid[0] != '\0' && (info.version == 30 || info.version == 40));
	else
		assert(pre != NULL && error != NULL);

	struct vcard_text_match texts[3] = {
		{ STR("a"), COLLATION_UNICODE_CASEMAP, MATCH_CONTAINS, false },
		{ STR("\xc3\x89"), COLLATION_ASCII_CASEMAP, MATCH_STARTS_WITH, true },
		{ STR("x"), COLLATION_OCTET, MATCH_ENDS_WITH, false },
	};
	struct vcard_param_filter params[2] = {
		{ STR("TYPE"), false, true, { STR("work"), COLLATION_ASCII_CASEMAP, MATCH_EQUALS, false } },
		{ STR("PREF"), true, false, { STR_NULL, COLLATION_OCTET, MATCH_EQUALS, false } },
	};
	struct vcard_prop_filter props[3] = {
		{ STR("FN"), false, false, texts, 3, params, 2 },
		{ STR("EMAIL"), false, true, texts, 1, params, 1 },
		{ STR("NICKNAME"), true, false, NULL, 0, NULL, 0 },
	};
	struct vcard_filter f = { false, props, 3 };
	int matched = vcard_match(in, &f, &error);
	/* A card that validates is one the matcher reads. */
	assert(valid != 0 || matched >= 0);
	f.all_of = true;
	assert(vcard_match(in, &f, &error) >= -1);
	return 0;
}
