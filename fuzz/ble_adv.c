/* libFuzzer: HCI LE advertising report events and the AD data in them. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "plugins/libble/adv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct adv_report r[ADV_MAX_REPORTS];
    int n = adv_parse_event(data, size, r, ADV_MAX_REPORTS);

    for (int i = 0; i < n; i++) {
        char name[32] = "";
        int ffe0 = 0;
        if (adv_parse_data(r[i].data, r[i].data_len, name, sizeof(name), &ffe0) == 0)
            (void)adv_is_jk(name, ffe0);
    }
    return 0;
}
