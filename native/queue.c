/*
 * A link's waiting packets: one FIFO, or (fair) one FIFO per flow, served
 * by deficit round-robin with a quantum of one full frame; over its limit a
 * fair queue drops from the head of its longest flow (as fq_codel does).
 */
#include <stdlib.h>
#include <string.h>
#include "linkem.h"

void fifo_push(Fifo *f, Packet *p) {
  p->next = NULL;
  if (f->tail) f->tail->next = p; else f->head = p;
  f->tail = p;
  f->bytes += p->len;
  f->packets++;
}

Packet *fifo_pop(Fifo *f) {
  Packet *p = f->head;
  if (!p) return NULL;
  f->head = p->next;
  if (!f->head) f->tail = NULL;
  f->bytes -= p->len;
  f->packets--;
  return p;
}

/* By due time (a delay line that may reorder); packets due at the same time keep their order. */
void fifo_insert_by_due(Fifo *f, Packet *p) {
  if (!f->tail || f->tail->due <= p->due) {
    fifo_push(f, p);
    return;
  }
  Packet **at = &f->head;
  while ((*at)->due <= p->due) at = &(*at)->next;
  p->next = *at;
  *at = p;
  f->bytes += p->len;
  f->packets++;
}

static Flow *flow_for(Queue *q, uint64_t key) {
  for (int i = 0; i < q->n_flows; i++)
    if (q->flows[i].key == key) return &q->flows[i];
  if (q->n_flows == q->cap_flows) {
    q->cap_flows = q->cap_flows ? 2 * q->cap_flows : 16;
    q->flows = realloc(q->flows, (size_t)q->cap_flows * sizeof *q->flows);
  }
  Flow *f = &q->flows[q->n_flows++];
  memset(f, 0, sizeof *f);
  f->key = key;
  f->next_active = -1;
  return f;
}

void queue_push(Queue *q, Packet *p) {
  q->bytes += p->len;
  q->packets++;
  if (!q->fair) {
    fifo_push(&q->fifo, p);
    return;
  }
  Flow *f = flow_for(q, p->flow);
  fifo_push(&f->queue, p);
  if (!f->active) {
    int index = (int)(f - q->flows);
    f->active = 1;
    f->deficit = 0;
    f->next_active = -1;
    if (q->active_tail >= 0) q->flows[q->active_tail].next_active = index; else q->active_head = index;
    q->active_tail = index;
  }
}

static void deactivate_head(Queue *q) {
  Flow *f = &q->flows[q->active_head];
  q->active_head = f->next_active;
  if (q->active_head < 0) q->active_tail = -1;
  f->active = 0;
  f->next_active = -1;
}

/* The next packet to send: the FIFO's head, or deficit round-robin over the flows. */
Packet *queue_pop(Queue *q) {
  Packet *p;
  if (!q->fair) {
    p = fifo_pop(&q->fifo);
  } else {
    for (;;) {
      if (q->active_head < 0) return NULL;
      Flow *f = &q->flows[q->active_head];
      if (f->deficit < (int64_t)f->queue.head->len) {
        f->deficit += QUANTUM;
        if (q->active_head != q->active_tail) { /* to the back of the round */
          int index = q->active_head;
          deactivate_head(q);
          f->active = 1;
          q->flows[q->active_tail].next_active = index;
          q->active_tail = index;
        }
        continue;
      }
      p = fifo_pop(&f->queue);
      f->deficit -= p->len;
      if (!f->queue.head) deactivate_head(q);
      break;
    }
  }
  if (p) {
    q->bytes -= p->len;
    q->packets--;
  }
  return p;
}

/* Fair mode over its limit: take the head of the longest flow (NULL: no flow has packets). */
Packet *queue_drop_longest(Queue *q) {
  Flow *longest = NULL;
  for (int i = q->active_head; i >= 0; i = q->flows[i].next_active)
    if (!longest || q->flows[i].queue.bytes > longest->queue.bytes) longest = &q->flows[i];
  if (!longest) return NULL;
  Packet *p = fifo_pop(&longest->queue);
  q->bytes -= p->len;
  q->packets--;
  if (!longest->queue.head) {
    /* unlink it from the round */
    int index = (int)(longest - q->flows), prev = -1;
    for (int i = q->active_head; i >= 0 && i != index; i = q->flows[i].next_active) prev = i;
    if (prev < 0) q->active_head = longest->next_active; else q->flows[prev].next_active = longest->next_active;
    if (q->active_tail == index) q->active_tail = prev;
    longest->active = 0;
    longest->next_active = -1;
  }
  return p;
}
