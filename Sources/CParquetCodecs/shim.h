// The page codecs Parquet files use besides zstd and gzip (CZstd, CZlib): snappy (the default of
// pyarrow and Spark), LZ4 (raw block format) and brotli, from Debian's libraries.
#include <snappy-c.h>
#include <lz4.h>
#include <brotli/decode.h>
#include <brotli/encode.h>
