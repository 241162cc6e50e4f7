/* Preloaded into wlcs's runner by scripts/sanitize: dlclose does nothing, so the sanitized
 * compositord module stays mapped until exit and LeakSanitizer's check at exit can resolve (and
 * suppress or report) frames inside it. wlcs unloads the module before exit; without this, every
 * report there has <unknown module> frames and leak detection had to be off for wlcs. */
int dlclose(void *handle) {
    (void)handle;
    return 0;
}
