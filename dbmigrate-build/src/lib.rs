//! Build-script helper. (skeleton)
