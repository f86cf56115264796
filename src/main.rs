fn main() -> std::process::ExitCode {
    tune_allocator();
    livecredit::cli::main()
}

/// glibc's allocator, left alone, keeps what a busy server frees: one arena
/// per thread that ever allocated (up to 8 per core) and, once a large block
/// has been freed, every later block of that size on the heap instead of in
/// its own mapping. An Argon2 check (19 MiB) per login then stays resident
/// for good. Two arenas and a fixed mapping threshold give large blocks back
/// to the system when freed; measured in docs/BENCHMARKS.md.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called once,
    // before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}
