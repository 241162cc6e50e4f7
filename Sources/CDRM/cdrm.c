#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include "CDRM.h"

static int cdrm_ioctl(int fd, unsigned long request, void *arg) {
    int r;
    do {
        r = ioctl(fd, request, arg);
    } while (r == -1 && (errno == EINTR || errno == EAGAIN));
    return r == -1 ? -errno : r;
}

int cdrm_create_dumb(int drm_fd, uint32_t width, uint32_t height, uint32_t bpp, struct cdrm_dumb *out) {
    struct drm_mode_create_dumb req;
    memset(&req, 0, sizeof req);
    req.width = width;
    req.height = height;
    req.bpp = bpp;
    int r = cdrm_ioctl(drm_fd, DRM_IOCTL_MODE_CREATE_DUMB, &req);
    if (r < 0) return r;
    out->handle = req.handle;
    out->pitch = req.pitch;
    out->size = req.size;
    return 0;
}

int cdrm_map_dumb(int drm_fd, uint32_t handle, uint64_t *offset) {
    struct drm_mode_map_dumb req;
    memset(&req, 0, sizeof req);
    req.handle = handle;
    int r = cdrm_ioctl(drm_fd, DRM_IOCTL_MODE_MAP_DUMB, &req);
    if (r < 0) return r;
    *offset = req.offset;
    return 0;
}

int cdrm_destroy_dumb(int drm_fd, uint32_t handle) {
    struct drm_mode_destroy_dumb req = { .handle = handle };
    return cdrm_ioctl(drm_fd, DRM_IOCTL_MODE_DESTROY_DUMB, &req);
}

int cdrm_dmabuf_sync(int dmabuf_fd, uint64_t flags) {
    struct dma_buf_sync req = { .flags = flags };
    return cdrm_ioctl(dmabuf_fd, DMA_BUF_IOCTL_SYNC, &req);
}

int cdrm_udmabuf_create(int udmabuf_dev_fd, int memfd, uint64_t offset, uint64_t size) {
    struct udmabuf_create req;
    memset(&req, 0, sizeof req);
    req.memfd = (uint32_t)memfd;
    req.flags = UDMABUF_FLAGS_CLOEXEC;
    req.offset = offset;
    req.size = size;
    return cdrm_ioctl(udmabuf_dev_fd, UDMABUF_CREATE, &req);
}

int cdrm_dma_heap_alloc(int heap_fd, uint64_t size) {
    struct dma_heap_allocation_data req;
    memset(&req, 0, sizeof req);
    req.len = size;
    req.fd_flags = O_RDWR | O_CLOEXEC;
    int r = cdrm_ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &req);
    return r < 0 ? r : (int)req.fd;
}

int cdrm_dmabuf_export_sync_file(int dmabuf_fd, uint32_t flags) {
    struct dma_buf_export_sync_file req = { .flags = flags, .fd = -1 };
    int r = cdrm_ioctl(dmabuf_fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &req);
    return r < 0 ? r : req.fd;
}

int cdrm_dmabuf_import_sync_file(int dmabuf_fd, int sync_file_fd, uint32_t flags) {
    struct dma_buf_import_sync_file req = { .flags = flags, .fd = sync_file_fd };
    return cdrm_ioctl(dmabuf_fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &req);
}

/* vgem_drm.h */
struct cdrm_vgem_fence_attach { uint32_t handle, flags, out_fence, pad; };
struct cdrm_vgem_fence_signal { uint32_t fence, flags; };
#define CDRM_VGEM_FENCE_WRITE 0x1
#define CDRM_IOCTL_VGEM_FENCE_ATTACH DRM_IOWR(DRM_COMMAND_BASE + 0x1, struct cdrm_vgem_fence_attach)
#define CDRM_IOCTL_VGEM_FENCE_SIGNAL DRM_IOW(DRM_COMMAND_BASE + 0x2, struct cdrm_vgem_fence_signal)

int cdrm_vgem_fence_attach(int drm_fd, uint32_t handle, int write, uint32_t *fence) {
    struct cdrm_vgem_fence_attach req = { .handle = handle, .flags = write ? CDRM_VGEM_FENCE_WRITE : 0 };
    int r = cdrm_ioctl(drm_fd, CDRM_IOCTL_VGEM_FENCE_ATTACH, &req);
    if (r < 0) return r;
    *fence = req.out_fence;
    return 0;
}

int cdrm_vgem_fence_signal(int drm_fd, uint32_t fence) {
    struct cdrm_vgem_fence_signal req = { .fence = fence };
    return cdrm_ioctl(drm_fd, CDRM_IOCTL_VGEM_FENCE_SIGNAL, &req);
}

/* drm.h since Linux 6.6 */
struct cdrm_syncobj_eventfd { uint32_t handle, flags; uint64_t point; int32_t fd; uint32_t pad; };
#define CDRM_IOCTL_SYNCOBJ_EVENTFD DRM_IOWR(0xCF, struct cdrm_syncobj_eventfd)

int cdrm_syncobj_eventfd(int drm_fd, uint32_t handle, uint64_t point, int eventfd, uint32_t flags) {
    struct cdrm_syncobj_eventfd req = { .handle = handle, .flags = flags, .point = point, .fd = eventfd };
    return cdrm_ioctl(drm_fd, CDRM_IOCTL_SYNCOBJ_EVENTFD, &req);
}
