#include "config.h"

#include "plugins/jk_ble/jk_devices.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include "plugins/libble/transport.h"

int jk_devices_first(const char *path, char *address, size_t address_cap, char *name,
                     size_t name_cap, char *err, size_t err_size)
{
    FILE *fp = fopen(path, "rb");
    yaml_parser_t parser;
    yaml_event_t ev;
    int depth = 0, rc = -ENOENT, done = 0;
    char key[64] = "", top_key[64] = "";
    int want_value = 0; /* inside the first device's mapping, after a key */

    if (fp == NULL)
        return -ENOENT;
    if (!yaml_parser_initialize(&parser)) {
        fclose(fp);
        return -ENOMEM;
    }
    yaml_parser_set_input_file(&parser, fp);
    name[0] = '\0';
    address[0] = '\0';
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            snprintf(err, err_size, "%s:%zu: %s", path, parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "YAML syntax error");
            rc = -EINVAL;
            break;
        }
        switch (ev.type) {
        case YAML_MAPPING_START_EVENT:
            depth++;
            break;
        case YAML_MAPPING_END_EVENT:
            if (--depth == 1 && top_key[0] != '\0')
                done = 1; /* the first device is complete */
            break;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            if (depth == 1 && top_key[0] == '\0') {
                snprintf(top_key, sizeof(top_key), "%s", v);
            } else if (depth == 2 && !want_value) {
                snprintf(key, sizeof(key), "%s", v);
                want_value = 1;
            } else if (depth == 2) {
                if (strcmp(key, "address") == 0)
                    snprintf(address, address_cap, "%s", v);
                else if (strcmp(key, "name") == 0)
                    snprintf(name, name_cap, "%s", v);
                want_value = 0;
            }
            break;
        }
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    fclose(fp);
    if (rc == -EINVAL)
        return rc;
    if (address[0] == '\0' && top_key[0] != '\0')
        snprintf(address, address_cap, "%s", top_key);
    if (address[0] == '\0')
        return -ENOENT;
    if (!ble_address_valid(address)) {
        snprintf(err, err_size, "%s: first device \"%s\" is not a BLE address", path, address);
        return -EINVAL;
    }
    return 0;
}
