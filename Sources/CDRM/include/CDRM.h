/* CDRM: libdrm and the kernel's DRM, dma-buf, udmabuf and dma-heap uapi, with small ioctl helpers
 * so Swift never has to spell an ioctl request number. All return 0 / an fd, or -errno. */
#ifndef CDRM_H
#define CDRM_H
#include <stdint.h>
#include <xf86drm.h>
#include <drm_fourcc.h>
#include <drm_mode.h>
#include <linux/dma-buf.h>
#include <linux/udmabuf.h>
#include <linux/dma-heap.h>
#include <sys/eventfd.h>

struct cdrm_dumb {
    uint32_t handle;
    uint32_t pitch;
    uint64_t size;
};

/* DRM_IOCTL_MODE_CREATE_DUMB; fills `out`. */
int cdrm_create_dumb(int drm_fd, uint32_t width, uint32_t height, uint32_t bpp, struct cdrm_dumb *out);
/* DRM_IOCTL_MODE_MAP_DUMB: the offset to mmap the dumb buffer at. */
int cdrm_map_dumb(int drm_fd, uint32_t handle, uint64_t *offset);
/* DRM_IOCTL_MODE_DESTROY_DUMB. */
int cdrm_destroy_dumb(int drm_fd, uint32_t handle);
/* DMA_BUF_IOCTL_SYNC with DMA_BUF_SYNC_START/END | READ/WRITE flags, retried on EINTR. */
int cdrm_dmabuf_sync(int dmabuf_fd, uint64_t flags);
/* UDMABUF_CREATE over a memfd sealed with F_SEAL_SHRINK; returns a dma-buf fd. */
int cdrm_udmabuf_create(int udmabuf_dev_fd, int memfd, uint64_t offset, uint64_t size);
/* DMA_HEAP_IOCTL_ALLOC; returns a dma-buf fd. */
int cdrm_dma_heap_alloc(int heap_fd, uint64_t size);

/* DMA_BUF_IOCTL_EXPORT_SYNC_FILE (Linux 6.0+): a sync_file fd snapshotting the dma-buf's fences
 * now: with CDRM_SYNC_READ the writers' (what a reader waits for), with CDRM_SYNC_WRITE all of them.
 * It polls readable once they signalled. -ENOTTY on kernels without it. */
int cdrm_dmabuf_export_sync_file(int dmabuf_fd, uint32_t flags);
/* DMA_BUF_IOCTL_IMPORT_SYNC_FILE (Linux 6.0+): adds the sync_file's fences to the dma-buf, as a
 * writer's with CDRM_SYNC_WRITE. */
int cdrm_dmabuf_import_sync_file(int dmabuf_fd, int sync_file_fd, uint32_t flags);
/* vgem (drivers/gpu/drm/vgem, uapi vgem_drm.h, not in every libdrm): DRM_IOCTL_VGEM_FENCE_ATTACH
 * adds an unsignalled fence to a buffer object (a writer's with `write`) and returns its id;
 * DRM_IOCTL_VGEM_FENCE_SIGNAL signals it. vgem signals a fence by itself after 10 s. */
int cdrm_vgem_fence_attach(int drm_fd, uint32_t handle, int write, uint32_t *fence);
int cdrm_vgem_fence_signal(int drm_fd, uint32_t fence);

/* DRM_IOCTL_SYNCOBJ_EVENTFD (Linux 6.6+, newer than Debian 12's libdrm): `eventfd` is signalled
 * once timeline point `point` of syncobj `handle` signals (flags 0), or once it has a fence
 * (CDRM_SYNCOBJ_WAIT_AVAILABLE). Returns at once; -ENOTTY (or -EINVAL) on older kernels. */
int cdrm_syncobj_eventfd(int drm_fd, uint32_t handle, uint64_t point, int eventfd, uint32_t flags);

enum {
    CDRM_SYNCOBJ_WAIT_AVAILABLE = 1u << 2, /* DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE */
    CDRM_SYNC_READ = DMA_BUF_SYNC_READ,
    CDRM_SYNC_WRITE = DMA_BUF_SYNC_WRITE,
    CDRM_SYNC_START = DMA_BUF_SYNC_START,
    CDRM_SYNC_END = DMA_BUF_SYNC_END,
};
#endif
