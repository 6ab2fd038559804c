/* The eval-mode photonic tile of evaluators/noise/tiling.py, fused.
 *
 * tile_matmul (PyTorch) makes five passes over the unfolded input of a layer (im2col copy, block
 * max, scale, round, matrix product) and six over the block sums (noise, clip, round, two scales,
 * block sum), each a trip through memory with a temporary the size of the layer's output times
 * its blocks. Per block of a chunk of columns, this kernel gathers the inputs straight from the
 * padded layer input into a code buffer that stays in L2 (slot by slot, so every read streams),
 * turns them into DAC codes in place, then for a few rows at a time multiplies, adds the
 * conversion's noise, clips and rounds at the ADC, rescales and accumulates into the output, row
 * by row so that the noise and the output stream too. Built and loaded by
 * evaluators/noise/native.py. Same float operations, rounded alike, as the PyTorch tile except
 * the products' sum (fused multiply-adds in another order) and the sum over blocks (in sequence,
 * where PyTorch groups more than 16 in cascades): outputs differ in the last place, and by an ADC
 * step where a sum lands on a rounding boundary. */

#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TILE 16
#define SCALE_FLOOR 1e-30f /* tiling._SCALE_FLOOR */

typedef struct {
    /* input: element (image b, group g, slot j, column m) at
       source + g * group_stride + slot_offsets[j] + column_offsets[m] */
    const float *source;
    int64_t group_stride;
    const int64_t *slot_offsets; /* (fan_in,) */
    int64_t fan_in;              /* D: live reduction slots */
    const int64_t *column_offsets; /* (columns,) of this chunk */
    int64_t columns;               /* L: columns of this chunk */
    /* weights (WeightTiles) */
    const float *analog;    /* (groups, blocks, rows, width) */
    const float *out_scale; /* (groups, blocks, rows) */
    int64_t groups, blocks, rows, width;
    float input_levels; /* q of the input DACs */
    int32_t signed_inputs;
    float output_levels; /* q_o of the ADC */
    /* conversion noise: noise[(g, b, r, m)] * (noise_std ? noise_std[(g, b, r)] : noise_value) */
    const float *noise; /* (groups, blocks, rows, columns) or NULL */
    const float *noise_std;
    float noise_value;
    /* static input-encoder offsets: input_offsets[j * offsets_stride + m] * offsets_alpha */
    const float *input_offsets; /* or NULL */
    int64_t offsets_stride;
    float offsets_alpha;
    /* output (images, groups, rows, image_columns), contiguous; chunk column m is global
       column first_column + m */
    float *out;
    int64_t first_column, image_columns;
} TileCall;

typedef float vec __attribute__((vector_size(TILE * sizeof(float))));
typedef int32_t mask __attribute__((vector_size(TILE * sizeof(int32_t))));

/* a * b + c with one rounding: the products' sums are the one place where the kernel departs
   from the PyTorch tile's rounding (the file builds with -ffp-contract=off, so that everything
   else rounds as PyTorch's separate operations do). */
#if defined(__AVX512F__)
static inline vec multiply_add(vec a, float b, vec c) {
    return (vec)_mm512_fmadd_ps((__m512)a, _mm512_set1_ps(b), (__m512)c);
}
#elif defined(__FMA__)
static inline vec multiply_add(vec a, float b, vec c) {
    const __m256 scalar = _mm256_set1_ps(b);
    vec out;
    __m256 *halves = (__m256 *)&out;
    const __m256 *a_halves = (const __m256 *)&a, *c_halves = (const __m256 *)&c;
    halves[0] = _mm256_fmadd_ps(a_halves[0], scalar, c_halves[0]);
    halves[1] = _mm256_fmadd_ps(a_halves[1], scalar, c_halves[1]);
    return out;
}
#else
static inline vec multiply_add(vec a, float b, vec c) { return a * b + c; }
#endif

static inline vec load(const float *values) { /* unaligned */
    vec v;
    memcpy(&v, values, sizeof v);
    return v;
}

static inline void store(float *values, vec v) { memcpy(values, &v, sizeof v); }

static inline vec maximum(vec a, vec b) {
    mask greater = a > b;
    return (vec)((greater & (mask)a) | (~greater & (mask)b));
}

static inline vec minimum(vec a, vec b) { return -maximum(-a, -b); }

/* rintf of each lane, for |v| < 2^22 (codes: |v| <= q < 2^16): adding and subtracting
   1.5 * 2^23 rounds to the nearest integer, ties to even, as rintf and torch.round do. */
static inline vec round_even(vec v) {
    const vec zero = {0};
    const vec shift = zero + 12582912.0f;
    return (v + shift) - shift;
}

/* Where the columns of one TILE-column tile go, and whether they are consecutive in memory. */
typedef struct {
    int64_t out;  /* output offset of its first column (image and position; no group, no row) */
    int count;    /* live columns: TILE except in the chunk's last tile */
    int in_unit;  /* its input columns are consecutive elements */
    int out_unit; /* its output columns are consecutive elements (one image) */
} Tile;

static int64_t out_offset(const TileCall *c, int64_t m) {
    const int64_t column = c->first_column + m, image = column / c->image_columns;
    return image * c->groups * c->rows * c->image_columns + column % c->image_columns;
}

static void plan_tiles(const TileCall *c, Tile *tiles, int64_t count) {
    for (int64_t k = 0; k < count; k++) {
        const int64_t m0 = k * TILE;
        Tile *tile = &tiles[k];
        tile->count = c->columns - m0 < TILE ? (int)(c->columns - m0) : TILE;
        tile->out = out_offset(c, m0);
        tile->in_unit = tile->out_unit = tile->count == TILE;
        for (int t = 1; t < tile->count; t++) {
            tile->in_unit &= c->column_offsets[m0 + t] == c->column_offsets[m0] + t;
            tile->out_unit &= out_offset(c, m0 + t) == tile->out + t;
        }
    }
}

/* One block's DAC codes for the panel of tiles first .. first + count - 1, codes[j * count + k]
   for its k-th tile, and s_x of each column. */
static void encode_block(const TileCall *c, const float *source, int64_t block,
                         const Tile *tiles, int64_t first_tile, int64_t count, vec *codes,
                         vec *scales) {
    const int64_t w = c->width, first = block * w;
    const int64_t live = c->fan_in - first < w ? c->fan_in - first : w;
    const vec zero = {0};
    for (int64_t k = 0; k < count; k++) scales[k] = zero;
    for (int64_t j = 0; j < live; j++) { /* slot by slot: each read streams along its plane */
        const float *slot = source + c->slot_offsets[first + j];
        vec *row = codes + j * count;
        for (int64_t k = 0; k < count; k++) {
            const Tile *tile = &tiles[first_tile + k];
            const int64_t *columns = c->column_offsets + (first_tile + k) * TILE;
            vec x = zero;
            if (tile->in_unit) {
                x = load(slot + columns[0]);
            } else {
                for (int t = 0; t < tile->count; t++) x[t] = slot[columns[t]];
            }
            scales[k] = maximum(scales[k], c->signed_inputs ? maximum(x, -x) : x);
            row[k] = x;
        }
    }
    for (int64_t j = live; j < w; j++)
        for (int64_t k = 0; k < count; k++) codes[j * count + k] = zero;
    for (int64_t k = 0; k < count; k++) {
        scales[k] = maximum(scales[k], zero + SCALE_FLOOR);
        const vec factor = (1.0f / scales[k]) * c->input_levels;
        for (int64_t j = 0; j < live; j++) {
            vec *code = &codes[j * count + k];
            *code = round_even(*code * factor);
            if (c->input_offsets != NULL) {
                const int64_t m = (first_tile + k) * TILE;
                const float *offsets = c->input_offsets + j * c->offsets_stride + m;
                const int live_columns = tiles[first_tile + k].count;
                for (int t = 0; t < live_columns; t++) (*code)[t] += c->offsets_alpha * offsets[t];
            }
        }
    }
}

/* One row's conversion of one tile: noise, ADC clip and round, back to signal units, added to
   (or, for the first block, written into) the output. */
static inline void convert(const TileCall *c, vec y, int64_t row, int64_t column,
                           const Tile *tile, vec scale, float *out, int first_block) {
    if (c->noise != NULL) {
        const float std = c->noise_std != NULL ? c->noise_std[row] : c->noise_value;
        const float *noise = c->noise + row * c->columns + column;
        if (tile->count == TILE) {
            y += load(noise) * std;
        } else {
            for (int t = 0; t < tile->count; t++) y[t] += noise[t] * std;
        }
    }
    const vec zero = {0};
    const float q = c->output_levels;
    const vec value = round_even(minimum(maximum(y, zero - q), zero + q)) * scale * c->out_scale[row];
    if (tile->out_unit) {
        store(out + tile->out, first_block ? value : load(out + tile->out) + value);
        return;
    }
    for (int t = 0; t < tile->count; t++) {
        float *target = out + out_offset(c, column + t);
        *target = first_block ? value[t] : *target + value[t];
    }
}

#define ROWS 4 /* rows times two tiles per pass over the codes: eight accumulators, and each
                  load of a weight or of codes feeds two or four products */

/* Every row's conversions of one block for a panel of tiles, four rows and two tiles at a time. */
static void convert_block(const TileCall *c, int64_t group, int64_t block, const Tile *tiles,
                          int64_t first_tile, int64_t count, const vec *codes,
                          const vec *scales) {
    const int64_t w = c->width, rows = c->rows, image_columns = c->image_columns;
    const int64_t base = (group * c->blocks + block) * rows;
    float *out = c->out + group * rows * image_columns;
    const int first = block == 0;
    int64_t r = 0;
    for (; r + ROWS <= rows; r += ROWS) {
        const float *a = c->analog + (base + r) * w;
        int64_t k = 0;
        for (; k + 2 <= count; k += 2) {
            vec y00 = {0}, y10 = {0}, y20 = {0}, y30 = {0};
            vec y01 = {0}, y11 = {0}, y21 = {0}, y31 = {0};
            for (int64_t j = 0; j < w; j++) {
                const vec x0 = codes[j * count + k], x1 = codes[j * count + k + 1];
                const float a0 = a[j], a1 = a[w + j], a2 = a[2 * w + j], a3 = a[3 * w + j];
                y00 = multiply_add(x0, a0, y00), y01 = multiply_add(x1, a0, y01);
                y10 = multiply_add(x0, a1, y10), y11 = multiply_add(x1, a1, y11);
                y20 = multiply_add(x0, a2, y20), y21 = multiply_add(x1, a2, y21);
                y30 = multiply_add(x0, a3, y30), y31 = multiply_add(x1, a3, y31);
            }
            const vec y[2][ROWS] = {{y00, y10, y20, y30}, {y01, y11, y21, y31}};
            for (int u = 0; u < 2; u++) {
                const int64_t tile = first_tile + k + u, m = tile * TILE;
                for (int i = 0; i < ROWS; i++)
                    convert(c, y[u][i], base + r + i, m, &tiles[tile], scales[k + u],
                            out + (r + i) * image_columns, first);
            }
        }
        for (; k < count; k++) {
            vec y[ROWS] = {{0}};
            for (int64_t j = 0; j < w; j++)
                for (int i = 0; i < ROWS; i++) y[i] = multiply_add(codes[j * count + k], a[i * w + j], y[i]);
            const int64_t tile = first_tile + k, m = tile * TILE;
            for (int i = 0; i < ROWS; i++)
                convert(c, y[i], base + r + i, m, &tiles[tile], scales[k],
                        out + (r + i) * image_columns, first);
        }
    }
    for (; r < rows; r++) {
        const float *a = c->analog + (base + r) * w;
        for (int64_t k = 0; k < count; k++) {
            vec y = {0};
            for (int64_t j = 0; j < w; j++) y = multiply_add(codes[j * count + k], a[j], y);
            const int64_t tile = first_tile + k;
            convert(c, y, base + r, tile * TILE, &tiles[tile], scales[k],
                    out + r * image_columns, first);
        }
    }
}

#define PANEL_BYTES (256 * 1024) /* codes of one panel of tiles: they stay in L2 */

/* 0 on success, 1 when scratch memory could not be allocated. */
int photonic_tile(const TileCall *c) {
    const int64_t count = (c->columns + TILE - 1) / TILE;
    int64_t panel = PANEL_BYTES / (c->width * (int64_t)sizeof(vec));
    panel = panel < 2 ? 2 : panel > count ? count : panel;
    Tile *tiles = malloc((size_t)count * sizeof(Tile));
    vec *scales = aligned_alloc(sizeof(vec), (size_t)panel * sizeof(vec));
    vec *codes = aligned_alloc(sizeof(vec), (size_t)(c->width * panel) * sizeof(vec));
    if (tiles != NULL && scales != NULL && codes != NULL) {
        plan_tiles(c, tiles, count);
        for (int64_t g = 0; g < c->groups; g++) {
            const float *source = c->source + g * c->group_stride;
            for (int64_t first = 0; first < count; first += panel) {
                const int64_t size = count - first < panel ? count - first : panel;
                for (int64_t b = 0; b < c->blocks; b++) {
                    encode_block(c, source, b, tiles, first, size, codes, scales);
                    convert_block(c, g, b, tiles, first, size, codes, scales);
                }
            }
        }
    }
    const int failed = tiles == NULL || scales == NULL || codes == NULL;
    free(tiles);
    free(scales);
    free(codes);
    return failed;
}
