//! What the app asks of its web view. The window shows one local page (the UI, bundled in the
//! app) and never browses, so WebKit's browser defaults cost memory for nothing: its memory
//! cache of pages and resources, the back/forward page cache, and WebGL and Web Audio (which the
//! UI does not use). BENCHMARKS.md ("The desktop app and the UI") has what each costs.

/// Applies the lighter settings to the main window's web view (Linux: WebKitGTK); `gpu` keeps
/// WebKit's GPU compositing (`web.app_gpu_compositing`).
pub fn lighten(app: &tauri::App, gpu: bool) {
    #[cfg(target_os = "linux")]
    {
        use tauri::Manager;
        use webkit2gtk::{
            CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt,
        };
        let Some(window) = app.get_webview_window("main") else {
            return;
        };
        let applied = window.with_webview(move |platform| {
            let view = platform.inner();
            if let Some(context) = view.context() {
                context.set_cache_model(CacheModel::DocumentViewer);
            }
            if let Some(settings) = WebViewExt::settings(&view) {
                // Composited on the GPU (here: Mesa's software GL), the page's layers cost the
                // web process ~100 MiB (GL buffers and heap); text and tables need none.
                if !gpu {
                    settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
                }
                settings.set_enable_page_cache(false);
                settings.set_enable_webgl(false);
                settings.set_enable_webaudio(false);
            }
        });
        if let Err(e) = applied {
            tracing::warn!(error = %e, "the web view's settings were not applied");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (app, gpu);
}
