/*
 * Private to src/cli/vendormap*.c: what the readers of each format
 * share.
 */
#ifndef CLI_VENDORMAP_INTERNAL_H
#define CLI_VENDORMAP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "cli/vendormap.h"
#include "core/pbjson.h"

/* A new item of f holding json (taken), found on line; NULL (json
 * freed) when out of memory. */
vmap_item *vmap_item_add(vmap_file *f, json_t *json, size_t line);
/* Records the line of it's next locations[] entry. */
void vmap_location_line_add(vmap_file *f, vmap_item *it, size_t line);
/* The key to store for key found on line, or NULL after a problem. With
 * renames (Fides), a renamed fideslang key becomes its replacement. */
const char *vmap_category_key(vmap_file *f, size_t line, const char *key,
    const vmap_taxonomy *tax, bool renames);
/* Checks the keys of a "data_categories" array in place. */
void vmap_check_categories(vmap_file *f, json_t *array,
    const pbjson_lines *lines, size_t dflt_line, const vmap_taxonomy *tax);
/* An ISO 3166-1 code, alpha-2 (as is) or alpha-3 (mapped), upper-cased
 * into out[3]; false when it is neither. */
bool vmap_country_code(const char *text, char out[3]);
/* The alpha-3 code of an alpha-2 one, into out[4]; false if unknown. */
bool vmap_country_alpha3(const char *alpha2, char out[4]);
/* Fides systems (docs: the documents of a YAML or JSON stream) into
 * f's items. */
void vmap_read_fides(vmap_file *f, const json_t *docs,
    const pbjson_lines *lines, const size_t *item_lines, size_t nitem_lines,
    const vmap_taxonomy *tax);

#endif
