"""Quad's bandit (`Quad/Quad-data_selection.py` step1/step2/step3 and `Quad_util.py`
get_cluster_neighbour/sorted_highest_score/get_sample_index, iTheresaApocalypse/Quad), ported to
run on in-memory clusters instead of its files and GPUs: the same dictionaries, loops and
floating-point operations in the same order. Two departures, both where the reference cannot
run: influence scores are given (per document) instead of computed on GPUs, and when the ranked
clusters run out in step1 the round takes the arms found so far (the reference raises
IndexError there).
"""

import math


def centroid_distance(c, i, j, cosine=True):
    a, b = c[i], c[j]
    dot = ni = nj = sq = 0.0
    for t in range(len(a)):
        dot += a[t] * b[t]
        ni += a[t] * a[t]
        nj += b[t] * b[t]
        sq += (a[t] - b[t]) * (a[t] - b[t])
    if cosine:
        return 1 - dot / (math.sqrt(ni) * math.sqrt(nj)) if ni > 0 and nj > 0 else (0.0 if i == j else 1.0)
    return math.sqrt(sq)


def run(clusters, centroids, arms, probe_size, block_size, alpha, threshold, offset, iterations, budget):
    """clusters: list (by cluster id) of lists of (doc id, score or None) in input order.
    Returns (rounds, selected ids): rounds as (arms [(cluster, sampled)], averages)."""
    cluster_size = len(clusters)
    batch, batchsize, real_batchsize = arms, probe_size, block_size
    cluster_score = {i: 0 for i in range(cluster_size)}
    cluster_chose = {i: 0 for i in range(cluster_size)}
    cluster_ucb = {i: 0 for i in range(cluster_size)}
    cluster_sample = {i: 0 for i in range(cluster_size)}
    final_chose = {i: 0 for i in range(cluster_size)}
    # get_cluster_neighbour
    cluster_neighbour, cluster_distance = {}, {}
    for i in range(cluster_size):
        cluster_neighbour[i] = []
        for j in range(cluster_size):
            d = centroid_distance(centroids, i, j) if centroids is not None else (0.0 if i == j else math.inf)
            cluster_distance[(i, j)] = d
            if d < threshold:
                cluster_neighbour[i].append(j)

    def get_sample_index(c):
        return (cluster_sample[c] + 1) * real_batchsize <= len(clusters[c])

    def step1(k):
        topk = []
        sorted_keys = [item[0] for item in sorted(cluster_ucb.items(), key=lambda x: x[1], reverse=True)]
        loopindex = 0
        for _ in range(batch):
            flag = False
            while not flag:
                if loopindex >= cluster_size:
                    return topk
                sample_index = loopindex if k == 0 else sorted_keys[loopindex]
                loopindex += 1
                flag = get_sample_index(sample_index)
                if not flag:
                    cluster_score[sample_index] = -9999999
                    cluster_ucb[sample_index] = -9999999
            topk.append({sample_index: cluster_sample[sample_index]})
        return topk

    def step2(topk):
        reward = []
        for d in topk:
            for c, s in d.items():
                reward.append([x for _, x in clusters[c][s * batchsize:(s + 1) * batchsize]])
        averages = []
        for part in reward:
            present = [x for x in part if x is not None]
            averages.append((sum(present) / len(present) if present else 0) - offset)
        return averages

    final_sum_chose, sum_chose = 0, 0
    rounds = []
    for k in range(iterations):
        topk = step1(k)
        if not topk:
            break
        averages = step2(topk)
        rounds.append(([(c, s) for d in topk for c, s in d.items()], averages))
        # step3
        for idx, i_dict in enumerate(topk):
            for key in i_dict:
                i = int(key)
                cluster_sample[i] += 1
            if averages[idx] > 0:
                final_chose[i] += 1
                final_sum_chose += 1
            for cluster in cluster_neighbour[i]:
                sum_chose += 1
                cluster_score[cluster] += averages[idx] * (1 - cluster_distance[(i, cluster)] / threshold)
                cluster_chose[cluster] += 1
        for key in cluster_ucb.keys():
            if cluster_chose[key] != 0:
                cluster_average_reward = cluster_score[key] / cluster_chose[key]
            else:
                cluster_average_reward = 0
            ucb = alpha * math.sqrt(2 * (math.log(float(sum_chose))) / float(cluster_chose[key] + 1))
            cluster_ucb[key] = cluster_average_reward + ucb
        if final_sum_chose * real_batchsize >= budget:
            break
    selected = []
    for i in range(cluster_size):
        if final_chose[i] != 0:
            selected += [doc for doc, _ in clusters[i][0:real_batchsize * final_chose[i]]]
    return rounds, selected
