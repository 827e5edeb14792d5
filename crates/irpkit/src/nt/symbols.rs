//! Names of driver routines, for reports: a loader of driver images (the C driver loader
//! of `irpkit-wdm`) registers each image's address range with a resolver, and a report
//! made while a routine runs names it by its symbol (`CancelRoutine+0x0 in cancel.so`)
//! instead of an address.
//!
//! Invariants: an image stays registered until its loader unregisters it, which happens
//! only after no kernel can call into it. Lock order: `IMAGES` is a leaf.

use std::sync::{Arc, RwLock};

/// Resolves an address inside an image to a description of the symbol it lies in.
pub type Resolver = Arc<dyn Fn(usize) -> Option<String> + Send + Sync>;

struct Image {
    start: usize,
    end: usize,
    resolve: Resolver,
}

static IMAGES: RwLock<Vec<Image>> = RwLock::new(Vec::new());

/// Registers an image occupying `start..end`; addresses inside it are described by
/// `resolve`. Returns a token for [`unregister_image`].
pub fn register_image(start: usize, end: usize, resolve: Resolver) -> usize {
    let mut images = IMAGES.write().unwrap_or_else(|e| e.into_inner());
    images.push(Image { start, end, resolve });
    start
}

/// Removes the image registered at `token`.
pub fn unregister_image(token: usize) {
    let mut images = IMAGES.write().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = images.iter().position(|im| im.start == token) {
        images.remove(i);
    }
}

/// The symbol `address` lies in, if an image registered it.
pub fn describe(address: usize) -> Option<String> {
    if address == 0 {
        return None;
    }
    let resolve = {
        let images = IMAGES.read().unwrap_or_else(|e| e.into_inner());
        images.iter().find(|im| (im.start..im.end).contains(&address)).map(|im| im.resolve.clone())
    }?;
    resolve(address)
}
