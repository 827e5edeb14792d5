//! WDM C drivers on irpkit.
