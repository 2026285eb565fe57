/* Winnow's training feed, C ABI (library libWinnowFeedC.so, built by `make release`).
 *
 * A mixture stream yields packed training sequences (seq_len + 1 tokens each) from token
 * datasets that `winnow run` exported (Megatron .bin/.idx, or flat token files with a .json
 * sidecar), mixed by weight with Megatron-LM's deterministic blending rule, optionally with a
 * schedule of weights over training. Sample n is the same for every call, process and machine:
 * a run resumes at any step by asking for that step; ranks and data-loader workers take
 * disjoint interleaved shares of the global sample sequence.
 *
 * The configuration is JSON:
 *   {"datasets": [{"path": "out/feed/web/data", "weight": 0.7},
 *                 {"path": "out/feed/code/data", "weight": 0.3}],
 *    "seq_len": 1024, "seed": 1234, "shuffle": true,
 *    "total_samples": 500000,                      (optional; needed for a schedule)
 *    "schedule": [{"start": 0.8, "weights": [0.4, 0.6]}],   (optional)
 *    "updates": [{"sample": 40960, "weights": [0.5, 0.5]}]}  (optional: a log of
 *                                                  winnow_mixture_update calls, replayed)
 *
 * A handle must not be used by two threads at once; open one per thread or process.
 */
#ifndef WINNOW_FEED_H
#define WINNOW_FEED_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct winnow_mixture winnow_mixture;

/* Opens a mixture. NULL on error, with a message (NUL-terminated, truncated to
 * error_capacity) in `error` when it is not NULL. */
winnow_mixture *winnow_mixture_open(const char *config_json, char *error, size_t error_capacity);

/* Releases the handle and its memory maps. NULL is ignored. */
void winnow_mixture_close(winnow_mixture *mixture);

/* Tokens per sample: seq_len + 1. */
uint64_t winnow_mixture_sample_length(winnow_mixture *mixture);

/* Number of datasets in the configuration. */
uint64_t winnow_mixture_dataset_count(winnow_mixture *mixture);

/* The dataset global sample n comes from (-1 on error) and, in *index_in_dataset when not
 * NULL, which of that dataset's samples it is. */
int64_t winnow_mixture_locate(winnow_mixture *mixture, uint64_t n, uint64_t *index_in_dataset);

/* Writes global samples first + k * stride, for k < count, into `out` (count * sample_length
 * tokens), and each sample's dataset into `datasets` when it is not NULL. Rank r of R reads
 * its local steps s = S, S+1, ... as first = S * R + r, stride = R; a data-loader worker w of W
 * on that rank takes local steps S + w, S + w + W, ... (first = (S + w) * R + r, stride = W * R),
 * so that the loader's round-robin over workers gives the rank's steps in order. Returns 0, or
 * -1 for bad arguments. */
int winnow_mixture_batch(winnow_mixture *mixture, uint64_t first, uint64_t stride, uint64_t count,
                         uint32_t *out, int32_t *datasets);

/* Changes the weights from global sample `sample` on (a step boundary), for online reweighting
 * such as DoReMi's: one weight per dataset. Samples before `sample` are unchanged and every
 * dataset continues where it was; the update is logged in the configuration
 * (winnow_mixture_config), so a stream opened from that configuration draws the same samples.
 * Updates must come in order (each after the previous one's sample). Returns 0, or -1 with a
 * message in `error`. */
int winnow_mixture_update(winnow_mixture *mixture, uint64_t sample, const double *weights, uint64_t count,
                          char *error, size_t error_capacity);

/* Writes the configuration, with its update log, as NUL-terminated JSON into `buffer` when
 * it fits; returns the length it needs without the NUL (-1 for a NULL handle). */
int64_t winnow_mixture_config(winnow_mixture *mixture, char *buffer, size_t capacity);

/* Quad's cluster bandit (Zhang et al. 2025) for online selection: clusters are arms of an
 * upper-confidence-bound bandit; a trainer chooses a round's arms, measures each on its probe
 * documents (window `sampled`), reports the rewards (mean influence minus an offset), and draws
 * from the clusters that won blocks (winnow_bandit_won), for instance by giving a mixture
 * stream's datasets those weights (winnow_mixture_update). Not thread-safe per handle. */
typedef struct winnow_bandit winnow_bandit;

/* `count` clusters of `sizes[i]` documents; `distances`: NULL (no neighbours but itself) or a
 * row-major count x count matrix of centroid distances; Quad's arms (50), probe_size (10),
 * block_size (20000), alpha (1e-4), radius (0.2). NULL on bad arguments (message in error). */
winnow_bandit *winnow_bandit_open(const uint64_t *sizes, uint64_t count, const double *distances, uint64_t arms,
                                  uint64_t probe_size, uint64_t block_size, double alpha, double radius, char *error,
                                  size_t error_capacity);
void winnow_bandit_close(winnow_bandit *bandit);
/* The next round's arms (cluster, times sampled before), at most `capacity`; returns how many
 * (0: the clusters ran out; -1: bad arguments). */
int64_t winnow_bandit_choose(winnow_bandit *bandit, uint64_t *clusters, uint64_t *sampled, uint64_t capacity);
/* A round's rewards, one per arm as winnow_bandit_choose gave them; 0, or -1 for bad arms. */
int winnow_bandit_update(winnow_bandit *bandit, const uint64_t *clusters, const uint64_t *sampled, const double *rewards,
                         uint64_t count);
/* Blocks won per cluster into `won` (`count` entries, may be NULL); returns the total. */
int64_t winnow_bandit_won(winnow_bandit *bandit, uint64_t *won, uint64_t count);

/* The ABI version ("1"); functions are only added, never changed. */
const char *winnow_feed_version(void);

#ifdef __cplusplus
}
#endif

#endif
