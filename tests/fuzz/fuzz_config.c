/*
 * fuzz_config.c - libFuzzer harness of the YAML config layer (train/config): the input is a
 * config file, optionally followed by a NUL byte and '\n'-separated --set overrides. It is read
 * (yaml_read.c), and when its top has no _base_ (the harness never follows paths out of the
 * input) loaded with its overrides, bound to the common tables (settings_bind, model.* keys
 * accepted as `pictor config show` does) and emitted.
 */
#include "config/config_internal.h"
#include "config/settings.h"
#include "fuzz_common.h"

#define MAX_OVERRIDES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), err[1024];
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t yaml_len = strlen(text);
    const char *ov[MAX_OVERRIDES];
    int n_ov = 0;
    if (yaml_len < size) { /* overrides after the NUL */
        char *p = text + yaml_len + 1;
        while (n_ov < MAX_OVERRIDES && p < text + size) {
            ov[n_ov++] = p;
            char *nl = memchr(p, '\n', (size_t)(text + size - p));
            if (!nl)
                break;
            *nl = '\0';
            p = nl + 1;
        }
    }
    /* the label names a folder that does not exist: nothing relative can be opened */
    const char *label = "/nonexistent-pictor-fuzz/config.yaml";
    node *top = cfg_read_map_text(text, yaml_len, label, err, sizeof err);
    int has_base = top && cfg_map_find(top, "_base_", 6) != NULL;
    cfg_node_free(top);
    if (top && !has_base) {
        cfg_doc *doc = cfg_load_string(text, label, ov, n_ov, err, sizeof err);
        if (doc) {
            settings s;
            settings_extra extra = {.unchecked_model = 1};
            if (settings_bind(&s, doc, &extra, err, sizeof err) == 0) {
                static FILE *sink;
                if (!sink)
                    sink = fopen("/dev/null", "w");
                if (settings_emit(sink, &s) != 0)
                    abort();
                settings_free(&s);
            }
        }
    }
    free(text);
    return 0;
}
