// Placeholder: receiver tests are being written.
