/* The emulator's state (declared in linkem.h), shared by geobed-linkem and link-replay. */
#include "linkem.h"

Node nodes[MAX_NODES];
Link links[MAX_LINKS];
int link_ids[MAX_LINKS];
int n_links;
int n_nodes_seen;
uint64_t seed = 1;
uint64_t start_ns, stats_interval_ns, next_stats_ns = NEVER;
int started;
uint64_t moderation_ns = DEFAULT_MODERATION_NS;
