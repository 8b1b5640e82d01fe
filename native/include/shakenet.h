/*
 * shakenet.h - the whole C ABI of libshakenet, the shim between ShakeNet's Java code and libtorch.
 *
 * Conventions (docs/architecture.md, "The C ABI"):
 *  - Opaque handles: sn_tensor and sn_generator are owned by the caller and released with
 *    sn_tensor_free / sn_generator_free. Every function that creates one writes it through an
 *    out-parameter; the caller owns it from then on.
 *  - Every function returns an sn_status (SN_OK == 0) unless it says otherwise. On failure the
 *    out-parameters are untouched and sn_last_error() holds a message for this OS thread.
 *  - No C++ exception crosses this boundary and no input aborts the process.
 *  - Names mirror libtorch's (conv2d, batch_norm, relu, cat, ...). A trailing underscore means
 *    the op works in place, as in PyTorch.
 *  - Arguments named "optional" accept NULL.
 */
#ifndef SHAKENET_H
#define SHAKENET_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a declaration below changes; the Java loader refuses a library whose
 * sn_abi_version differs from the SN_ABI_VERSION its bindings were generated from. */
#define SN_ABI_VERSION 17

typedef struct sn_tensor sn_tensor;
typedef struct sn_generator sn_generator;
typedef struct sn_store sn_store;
typedef struct sn_process_group sn_process_group;

/* Status codes. */
enum sn_status {
    SN_OK = 0,
    SN_ERR_TORCH = 1,            /* libtorch rejected the call (shape, dtype, device, ...) */
    SN_ERR_INVALID_ARGUMENT = 2, /* the shim rejected an argument (NULL handle, bad enum, ...) */
    SN_ERR_OUT_OF_MEMORY = 3,    /* host or device allocation failed */
    SN_ERR_INTERNAL = 4          /* any other exception */
};

/* Element types. */
enum sn_dtype {
    SN_FLOAT32 = 0,
    SN_FLOAT64 = 1,
    SN_FLOAT16 = 2,
    SN_BFLOAT16 = 3,
    SN_UINT8 = 4,
    SN_INT32 = 5,
    SN_INT64 = 6,
    SN_BOOL = 7
};

/* Device types; a device is (type, index), index -1 meaning the current one. */
enum sn_device_type {
    SN_CPU = 0,
    SN_CUDA = 1
};

/* Memory formats for 4-d tensors. */
enum sn_memory_format {
    SN_CONTIGUOUS = 0,    /* NCHW */
    SN_CHANNELS_LAST = 1, /* NHWC strides, NCHW shape */
    SN_PRESERVE = 2       /* keep the input's format */
};

/* In sn_to: keep the tensor's current dtype or device. */
#define SN_KEEP (-1)

/* ---- errors and runtime ------------------------------------------------------------------ */

/* The message of the last failed call on this OS thread ("" if none). Valid until the next
 * failing call on the same thread. Never fails. */
const char *sn_last_error(void);

/* The SN_ABI_VERSION this library was built from. */
int32_t sn_abi_version(int32_t *out);
/* libtorch's version, e.g. "1.13.1"; a static string. */
int32_t sn_torch_version(const char **out);
int32_t sn_cuda_device_count(int32_t *out);
/* Writes the NUL-terminated name of CUDA device `index` into buf (truncated to capacity). */
int32_t sn_cuda_device_name(int32_t index, char *buf, int64_t capacity);
int32_t sn_has_cudnn(int32_t *out);
int32_t sn_has_mkldnn(int32_t *out);
int32_t sn_get_num_threads(int32_t *out);
int32_t sn_set_num_threads(int32_t threads);
/* libtorch's profiler on this thread: stop writes, as a JSON array to json_path, every op run
 * since start with its calls, total and self (excluding nested ops) microseconds. libtorch 1.x
 * only; elsewhere both return an error saying so. */
int32_t sn_profiler_start(void);
int32_t sn_profiler_stop(const char *json_path);
/* Peak and current bytes held by libtorch's CUDA caching allocator on a device, and a reset of
 * the peak; errors on a CPU-only build. */
int32_t sn_cuda_memory(int32_t index, int64_t *allocated, int64_t *peak);
int32_t sn_cuda_reset_peak_memory(int32_t index);
/* Waits for all work queued on the device (for timing); a no-op on the CPU. */
int32_t sn_synchronize(int32_t device_type, int32_t device_index);
/* Seeds libtorch's default generators on every device. */
int32_t sn_manual_seed(uint64_t seed);
/* Grad mode of this OS thread; previous (optional) receives the old value. */
int32_t sn_set_grad_enabled(int32_t enabled, int32_t *previous);
int32_t sn_is_grad_enabled(int32_t *out);

/* ---- generators -------------------------------------------------------------------------- */

/* A new random generator for a device, seeded with `seed`. Ops taking an optional generator
 * use libtorch's default generator of the device when given NULL. */
int32_t sn_generator_new(int32_t device_type, int32_t device_index, uint64_t seed,
                         sn_generator **out);
int32_t sn_generator_free(sn_generator *generator);
/* A handle on libtorch's default generator of a device (the one sn_manual_seed seeds and NULL
 * generator arguments use); freeing the handle leaves the generator itself alone. */
int32_t sn_generator_default(int32_t device_type, int32_t device_index, sn_generator **out);
/* The generator's full state as a uint8 CPU tensor, and back (for checkpoints). */
int32_t sn_generator_get_state(const sn_generator *generator, sn_tensor **out);
int32_t sn_generator_set_state(sn_generator *generator, const sn_tensor *state);

/* ---- tensor lifetime, creation and transfer ------------------------------------------------ */

/* Frees the handle (NULL is a no-op); the storage goes when no other tensor shares it. */
int32_t sn_tensor_free(sn_tensor *tensor);
/* A new CPU tensor holding a copy of `nbytes` bytes of host data laid out row-major. */
int32_t sn_tensor_from_data(const void *data, int64_t nbytes, int32_t dtype, const int64_t *shape,
                            int32_t ndim, sn_tensor **out);
/* The same in page-locked (pinned) host memory, so a later non-blocking copy to a CUDA device
 * runs asynchronously. Needs a CUDA build of libtorch. */
int32_t sn_tensor_from_data_pinned(const void *data, int64_t nbytes, int32_t dtype,
                                   const int64_t *shape, int32_t ndim, sn_tensor **out);
/* Copies the tensor's elements (row-major, from any device) into host memory of exactly
 * numel * element size bytes. */
int32_t sn_tensor_copy_to_host(const sn_tensor *tensor, void *data, int64_t nbytes);
int32_t sn_zeros(const int64_t *shape, int32_t ndim, int32_t dtype, int32_t device_type,
                 int32_t device_index, sn_tensor **out);
/* Zeros with the tensor's shape, dtype, device and memory format. */
int32_t sn_zeros_like(const sn_tensor *tensor, sn_tensor **out);
int32_t sn_ones(const int64_t *shape, int32_t ndim, int32_t dtype, int32_t device_type,
                int32_t device_index, sn_tensor **out);
int32_t sn_full(const int64_t *shape, int32_t ndim, double value, int32_t dtype,
                int32_t device_type, int32_t device_index, sn_tensor **out);
/* Random tensors; generator is optional and must live on the target device. */
int32_t sn_randn(const int64_t *shape, int32_t ndim, double mean, double std, int32_t dtype,
                 int32_t device_type, int32_t device_index, sn_generator *generator,
                 sn_tensor **out);
int32_t sn_rand_uniform(const int64_t *shape, int32_t ndim, double low, double high,
                        int32_t dtype, int32_t device_type, int32_t device_index,
                        sn_generator *generator, sn_tensor **out);
/* Bernoulli(p) draws: 1 with probability p, else 0. */
int32_t sn_bernoulli(const int64_t *shape, int32_t ndim, double p, int32_t dtype,
                     int32_t device_type, int32_t device_index, sn_generator *generator,
                     sn_tensor **out);
/* Converts to a device, dtype and memory format (SN_KEEP keeps dtype / device). The result
 * may share storage with the input when nothing changes. non_blocking allows an asynchronous
 * host-to-device copy from pinned memory. */
int32_t sn_to(const sn_tensor *tensor, int32_t device_type, int32_t device_index, int32_t dtype,
              int32_t memory_format, int32_t non_blocking, sn_tensor **out);
/* Copies src into dst in place (shapes must broadcast; devices and dtypes may differ). */
int32_t sn_copy_(sn_tensor *dst, const sn_tensor *src);
int32_t sn_clone(const sn_tensor *tensor, sn_tensor **out);
/* A tensor sharing storage, cut out of the autograd graph. */
int32_t sn_detach(const sn_tensor *tensor, sn_tensor **out);
int32_t sn_reshape(const sn_tensor *tensor, const int64_t *shape, int32_t ndim, sn_tensor **out);
/* A view with the given sizes and strides (in elements) starting `offset` elements into the
 * tensor's storage (PyTorch's as_strided), e.g. to rebuild a saved non-contiguous tensor. */
int32_t sn_as_strided(const sn_tensor *tensor, const int64_t *sizes, const int64_t *strides, int32_t ndim,
                      int64_t offset, sn_tensor **out);

/* ---- tensor queries ------------------------------------------------------------------------ */

int32_t sn_tensor_ndim(const sn_tensor *tensor, int32_t *out);
/* Writes min(ndim, capacity) sizes into out. */
int32_t sn_tensor_shape(const sn_tensor *tensor, int64_t *out, int32_t capacity);
int32_t sn_tensor_numel(const sn_tensor *tensor, int64_t *out);
int32_t sn_tensor_dtype(const sn_tensor *tensor, int32_t *out);
int32_t sn_tensor_device(const sn_tensor *tensor, int32_t *device_type, int32_t *device_index);
int32_t sn_tensor_is_contiguous(const sn_tensor *tensor, int32_t memory_format, int32_t *out);
/* The value of a one-element tensor as a double (synchronizes with the device). */
int32_t sn_tensor_item(const sn_tensor *tensor, double *out);

/* ---- mixed precision ----------------------------------------------------------------------- */

/* Turns on PyTorch's autocast for a device type on this thread: from now until the matching
 * sn_autocast_exit, convolutions and matrix products run in `dtype` (SN_BFLOAT16 on CPU or CUDA,
 * SN_FLOAT16 on CUDA) while parameters stay float32, and precision-sensitive ops (losses,
 * reductions) stay in float32, as torch.autocast does. Regions nest. */
int32_t sn_autocast_enter(int32_t device_type, int32_t dtype);
/* Ends the innermost region of that device type, restoring the state before it. */
int32_t sn_autocast_exit(int32_t device_type);
/* Mixed-precision loss scaling: multiplies every gradient of `params` by inv_scale in place and
 * sets *found_inf to 1 if any gradient holds an inf or NaN (then the step should be skipped). */
int32_t sn_unscale_grads(sn_tensor *const *params, int32_t count, double inv_scale,
                         int32_t *found_inf);
/* Non-finite check without waiting for the device: when any of `tensors` holds an inf or NaN
 * (tensors[i]'s gradient where of_grad[i] is 1; of_grad NULL: the tensors themselves; undefined
 * gradients and integer tensors are skipped), adds 1 to record[0] and, if record[1] < 0, sets
 * record[1] = step. `record` is a contiguous int64 tensor of 2 elements on the tensors' device,
 * read by the caller when it chooses. */
int32_t sn_nonfinite_record(sn_tensor *const *tensors, const int32_t *of_grad, int32_t count, int64_t step,
                            sn_tensor *record);

/* ---- distributed (c10d) -------------------------------------------------------------------- */

/* Collective backends. */
enum sn_backend {
    SN_BACKEND_GLOO = 0, /* CPU and CUDA tensors */
    SN_BACKEND_NCCL = 1  /* CUDA tensors; CUDA builds of libtorch with NCCL only */
};

/* The backends this library was built with: bit (1 << backend) set for each. */
int32_t sn_distributed_backends(int32_t *out);
/* A TCPStore at host:port, hosted by this process when is_server (port 0: a free port, see
 * sn_store_port) or reached as a client, which retries until timeout_seconds have passed. Every
 * later wait on the store is bounded by the same timeout. */
int32_t sn_store_tcp(const char *host, int32_t port, int32_t is_server, double timeout_seconds, sn_store **out);
/* A FileStore on a path every rank sees (a shared file system), for world_size ranks. */
int32_t sn_store_file(const char *path, int32_t world_size, double timeout_seconds, sn_store **out);
/* The port a TCP store listens on or connects to. */
int32_t sn_store_port(const sn_store *store, int32_t *out);
int32_t sn_store_free(sn_store *store);
/* Joins the process group of world_size ranks that meets in `store` under `prefix` (optional:
 * NULL or "" means none) as rank `rank`. Before the backend's own rendezvous, every rank checks
 * through the store that the others agree on the world size and that no rank is claimed twice;
 * a rank that does not arrive within timeout_seconds is named in the error. gloo_host (optional)
 * is the address Gloo binds to (NULL: the interface GLOO_SOCKET_IFNAME names, else the
 * hostname's). Every collective of the group fails, instead of waiting longer, after
 * timeout_seconds. */
int32_t sn_process_group_new(sn_store *store, const char *prefix, int32_t backend, int32_t rank,
                             int32_t world_size, double timeout_seconds, const char *gloo_host,
                             sn_process_group **out);
/* Sums the tensors (or their .grad() when of_grad is non-zero; undefined gradients are skipped)
 * across ranks in place, divided by the world size when average is non-zero. Tensors are packed
 * by dtype and device, in order, into flat buckets of at most bucket_bytes (a larger tensor
 * travels alone; Gloo's bfloat16 buckets travel as float32); every rank must pass the same list.
 * Bool and complex tensors are refused. */
int32_t sn_allreduce(sn_process_group *group, sn_tensor *const *tensors, int32_t count, int32_t of_grad,
                     int32_t average, int64_t bucket_bytes);
/* Copies rank root's tensors into every other rank's, in place, in buckets as sn_allreduce. */
int32_t sn_broadcast(sn_process_group *group, sn_tensor *const *tensors, int32_t count, int32_t root,
                     int64_t bucket_bytes);
/* Returns when every rank has called it. */
int32_t sn_barrier(sn_process_group *group);
int32_t sn_process_group_free(sn_process_group *group);

/* ---- autograd ------------------------------------------------------------------------------ */

int32_t sn_tensor_requires_grad(const sn_tensor *tensor, int32_t *out);
int32_t sn_tensor_set_requires_grad(sn_tensor *tensor, int32_t requires_grad);
/* The accumulated gradient as a new handle, or *out = NULL when there is none. */
int32_t sn_tensor_grad(const sn_tensor *tensor, sn_tensor **out);
/* Drops the accumulated gradient (like PyTorch's zero_grad(set_to_none=True)). */
int32_t sn_tensor_zero_grad(sn_tensor *tensor);
/* Back-propagates from `tensor`; grad_output is optional for a one-element tensor. */
int32_t sn_backward(const sn_tensor *tensor, const sn_tensor *grad_output);

/* ---- arithmetic ---------------------------------------------------------------------------- */

int32_t sn_add(const sn_tensor *a, const sn_tensor *b, sn_tensor **out);
int32_t sn_sub(const sn_tensor *a, const sn_tensor *b, sn_tensor **out);
int32_t sn_mul(const sn_tensor *a, const sn_tensor *b, sn_tensor **out);
/* a += b */
int32_t sn_add_(sn_tensor *a, const sn_tensor *b);
int32_t sn_add_scalar(const sn_tensor *a, double value, sn_tensor **out);
int32_t sn_mul_scalar(const sn_tensor *a, double value, sn_tensor **out);
/* a += value, in place */
int32_t sn_add_scalar_(sn_tensor *a, double value);
int32_t sn_sum(const sn_tensor *tensor, sn_tensor **out);
int32_t sn_mean(const sn_tensor *tensor, sn_tensor **out);
int32_t sn_cat(const sn_tensor *const *tensors, int32_t count, int64_t dim, sn_tensor **out);

/* ---- network ops --------------------------------------------------------------------------- */

/* input (N,C,H,W), weight (O,C/groups,kH,kW), bias optional (O). */
int32_t sn_conv2d(const sn_tensor *input, const sn_tensor *weight, const sn_tensor *bias,
                  int64_t stride_h, int64_t stride_w, int64_t pad_h, int64_t pad_w, int64_t groups,
                  sn_tensor **out);
/* training != 0: normalizes with batch statistics and updates running_mean/running_var in
 * place with `momentum` (PyTorch's convention: new = (1-momentum)*old + momentum*batch,
 * unbiased variance); else normalizes with the running statistics. weight, bias optional. */
int32_t sn_batch_norm(const sn_tensor *input, const sn_tensor *weight, const sn_tensor *bias,
                      sn_tensor *running_mean, sn_tensor *running_var, int32_t training,
                      double momentum, double eps, sn_tensor **out);
int32_t sn_relu(const sn_tensor *input, sn_tensor **out);
int32_t sn_relu_(sn_tensor *tensor);
/* Both inputs of a projection shortcut's 1x1 convolutions, (N,C,H,W) -> (N,2C,ceil(H/s),ceil(W/s))
 * in the input's memory format: channels [0,C) are input[:, :, ::s, ::s] and channels [C,2C) are
 * the input shifted by one pixel, sampled the same way (PyTorch: torch.cat([x[:, :, ::s, ::s],
 * F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))[:, :, ::s, ::s]], 1)). */
int32_t sn_shortcut_samples(const sn_tensor *input, int64_t stride, sn_tensor **out);
/* (N,C,H,W) -> (N,C): mean over H and W. */
int32_t sn_global_avg_pool2d(const sn_tensor *input, sn_tensor **out);
/* input (N,in), weight (out,in), bias optional (out). */
int32_t sn_linear(const sn_tensor *input, const sn_tensor *weight, const sn_tensor *bias,
                  sn_tensor **out);
/* Mean cross-entropy of logits (N,K) against int64 class indices (N). */
int32_t sn_cross_entropy(const sn_tensor *logits, const sn_tensor *targets, sn_tensor **out);
int32_t sn_argmax(const sn_tensor *input, int64_t dim, sn_tensor **out);
/* How many rows of logits (N,K) have their argmax equal to targets (N): an int64 scalar tensor
 * on the logits' device, so it can be accumulated without a host synchronisation. */
int32_t sn_count_correct(const sn_tensor *logits, const sn_tensor *targets, sn_tensor **out);

/* ---- optimizer ----------------------------------------------------------------------------- */

/* One step of torch.optim.SGD over `count` parameters, in place and outside autograd:
 *   d = grad + weight_decay*p
 *   buf = d on a parameter's first step (buffer_ready[i] == 0, then set to 1),
 *         else momentum*buf + (1-dampening)*d
 *   d = d + momentum*buf (nesterov) or buf
 *   p -= lr*d
 * momentum_buffers and buffer_ready may be NULL when momentum == 0. Parameters without a
 * gradient are skipped, as in PyTorch. */
int32_t sn_sgd_step(sn_tensor *const *params, sn_tensor *const *momentum_buffers,
                    int32_t *buffer_ready, int32_t count, double lr, double momentum,
                    double dampening, double weight_decay, int32_t nesterov);

/* ---- shake-shake --------------------------------------------------------------------------- */

/* The shake-shake combination as one autograd function (PAPER.md), with its coefficients given:
 *   forward  out = alpha*a + (1-alpha)*b
 *   backward grad_a = beta*g, grad_b = (1-beta)*g
 * alpha and beta broadcast against a: (N,1,1,1) for one per image, one element for one per
 * mini-batch (0.5 and 0.5 give evaluation's 0.5*(a+b)). They take no gradient. */
int32_t sn_shake_shake(const sn_tensor *a, const sn_tensor *b, const sn_tensor *alpha,
                       const sn_tensor *beta, sn_tensor **out);

/* ---- shake-drop ---------------------------------------------------------------------------- */

/* ShakeDrop (Yamada et al., 2018) on a residual branch's output f, as one autograd function:
 *   forward  out    = (gate + alpha - gate*alpha) * f   (f where gate = 1, alpha*f where gate = 0)
 *   backward grad_f = (gate + beta - gate*beta) * g     (g where gate = 1, beta*g where gate = 0)
 * gate, alpha and beta hold one floating-point value per image, shape (N) or (N,1,1,1), on f's
 * device (the paper draws gate ~ Bernoulli(p_l), alpha ~ U(-1,1), beta ~ U(0,1)). f is any
 * floating dtype; the coefficients are cast to it. They take no gradient. Evaluation's
 * p_l * f is a plain sn_mul_scalar. */
int32_t sn_shake_drop(const sn_tensor *f, const sn_tensor *gate, const sn_tensor *alpha,
                      const sn_tensor *beta, sn_tensor **out);

/* ---- the CPU-kernels engine (native/src/cpu/) ------------------------------------------------ */

/* Hand-written CPU kernels for a Shake-Shake training step: oneDNN's Winograd convolutions, batch
 * norms over 16-channel groups, the block end with both branches' last batch norms folded in, a
 * one-pass SGD update and a caching allocator. Present where the library was built with oneDNN's
 * headers (libdnnl-dev) and that oneDNN is the one loaded; elsewhere every call below but
 * sn_cpu_kernels_available fails, saying so (the allocator calls accept caching == 0). */
int32_t sn_cpu_kernels_available(int32_t *out);

/* Handles per block in sn_cpu_shake_stage's `tensors`, in this order:
 *   branch 1 then branch 2, each: conv1.weight, bn1.weight, bn1.bias, bn1.running_mean,
 *     bn1.running_var, conv2.weight, bn2.weight, bn2.bias, bn2.running_mean, bn2.running_var
 *   shortcut: conv1.weight, conv2.weight, bn.weight, bn.bias, bn.running_mean, bn.running_var
 *     (all six NULL for an identity shortcut)
 *   shake: alpha, beta (as sn_shake_shake takes them) */
#define SN_CPU_BLOCK_TENSORS 28
/* The training forward of one stage of `blocks` shake blocks (the first with stride `stride`) on
 * CPU input (N,C,H,W), float32 or under CPU autocast, with the same results as the reference ops
 * (sn_relu, sn_conv2d, sn_batch_norm in training mode, sn_shortcut_samples, sn_shake_shake,
 * sn_add) up to rounding: out is the stage's output and out_relu its ReLU; every batch norm's
 * running statistics are updated in place with `momentum`. Backward runs through autograd.
 * input_relu (optional) is relu(input) when the caller has it. */
int32_t sn_cpu_shake_stage(const sn_tensor *input, const sn_tensor *input_relu, int32_t blocks,
                           int64_t stride, sn_tensor *const *tensors, double momentum, double eps,
                           sn_tensor **out, sn_tensor **out_relu);
/* A training-mode batch norm (sn_batch_norm with training != 0) by the kernels, for the stem. */
int32_t sn_cpu_batch_norm(const sn_tensor *input, const sn_tensor *weight, const sn_tensor *bias,
                          sn_tensor *running_mean, sn_tensor *running_var, double momentum, double eps,
                          sn_tensor **out);
/* sn_sgd_step's update in one pass per float32 CPU parameter (others as sn_sgd_step). */
int32_t sn_cpu_sgd_step(sn_tensor *const *params, sn_tensor *const *momentum_buffers,
                        int32_t *buffer_ready, int32_t count, double lr, double momentum,
                        double dampening, double weight_decay, int32_t nesterov);
/* CPU tensor memory. ShakeNet's caching allocator (native/src/cpu/cpu_allocator.cpp) keeps
 * freed blocks of 256 KiB and more mapped for the next request of the same size, instead of
 * glibc's malloc (libtorch's default); use_caching(0) puts libtorch's default back. Call it
 * before the tensors it should serve are made; tensors made earlier stay valid. The counts cover
 * tensors made while the caching allocator was installed. */
typedef struct sn_cpu_memory_stats {
    int64_t live_bytes;        /* held by tensors now */
    int64_t peak_live_bytes;   /* most held at once since the last reset */
    int64_t mapped_bytes;      /* cached blocks mapped now, live or idle */
    int64_t peak_mapped_bytes; /* most mapped at once since the last reset */
    int64_t idle_bytes;        /* mapped, freed, waiting for reuse */
    int64_t released_bytes;    /* idle blocks given back to the OS so far */
    int64_t hits;              /* large requests served by an idle block */
    int64_t misses;            /* large requests that needed a new mapping */
} sn_cpu_memory_stats;
int32_t sn_cpu_allocator_use_caching(int32_t caching);
int32_t sn_cpu_allocator_is_caching(int32_t *out);
int32_t sn_cpu_memory(sn_cpu_memory_stats *out);
int32_t sn_cpu_memory_reset_peak(void);
/* Gives every idle cached block back to the OS. */
int32_t sn_cpu_memory_release_idle(void);

#ifdef __cplusplus
}
#endif

#endif /* SHAKENET_H */
