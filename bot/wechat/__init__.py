"""The WeChat protocol edge: signatures, crypto, XML, the async API client and the sandbox emulator."""
