#include "chain/amount.h"

#include <stdio.h>
#include <string.h>

#include "chain/params.h"

int tc_amount_parse(const char *s, uint64_t *sat)
{
    uint64_t whole = 0, frac = 0;
    size_t i = 0, int_digits = 0, frac_digits = 0;
    *sat = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++, int_digits++) {
        if (whole > TC_MAX_MONEY / TC_COIN)
            return TC_ETX_OVERFLOW;
        whole = whole * 10 + (uint64_t)(s[i] - '0');
    }
    if (int_digits == 0)
        return TC_EINVAL;
    if (s[i] == '.') {
        for (i++; s[i] >= '0' && s[i] <= '9'; i++, frac_digits++) {
            if (frac_digits == 8)
                return TC_EINVAL;
            frac = frac * 10 + (uint64_t)(s[i] - '0');
        }
        if (frac_digits == 0)
            return TC_EINVAL;
    }
    if (s[i] != '\0')
        return TC_EINVAL;
    for (size_t k = frac_digits; k < 8; k++)
        frac *= 10;
    if (whole > TC_MAX_MONEY / TC_COIN)
        return TC_ETX_OVERFLOW;
    uint64_t v = whole * TC_COIN + frac;
    if (v > TC_MAX_MONEY)
        return TC_ETX_OVERFLOW;
    *sat = v;
    return 0;
}

char *tc_amount_format(char *out, uint64_t sat)
{
    snprintf(out, TC_AMOUNT_STRLEN, "%llu.%08llu", (unsigned long long)(sat / TC_COIN),
             (unsigned long long)(sat % TC_COIN));
    return out;
}
