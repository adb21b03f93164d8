/* jkbms-util: read and decode JK BMS data from the command line. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/libjk/jk_decode.h"
#include "plugins/libjk/jk_report.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: jkbms-util --decode FILE [--json] [--protocol auto|JK04|JK02_24S|JK02_32S]\n"
                 "  --decode FILE   decode a hex dump or btsnoop HCI capture offline and print\n"
                 "                  the BATTERY STATUS report for every cell-info frame\n"
                 "  --json          one JSON object per frame instead (keys as collectord's record)\n"
                 "  --protocol P    the frame layout; auto (default) detects it\n"
                 "  --version, --help\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"decode", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'j'},
        {"protocol", required_argument, NULL, 'p'}, {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *decode = NULL;
    int json = 0, proto = JK_PROTO_AUTO, c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            decode = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'p':
            if (jk_protocol_parse(optarg, &proto) < 0) {
                fprintf(stderr, "jkbms-util: --protocol %s: want auto, JK04, JK02_24S or "
                                "JK02_32S\n",
                        optarg);
                return 2;
            }
            break;
        case 'V':
            printf("jkbms-util %s\n", PACKAGE_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (decode == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    return jk_decode_file_main(decode, json, proto, stdout, stderr);
}
