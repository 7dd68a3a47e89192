"""Python equivalent of the `removeTrackingIDs` filter of genai-eu-declarations' Llama API.

The original reads each whole href as a query string (`new URLSearchParams(href)`), deletes `h`
and writes the serialised parameters back, on every link: the odd links it produces are what
OTA recorded, so this reproduces them faithfully.
"""

from ada_url import URLSearchParams


def removeTrackingIDs(document, parameters, source_document):
    """Delete the `h` tracking parameter (Meta's link shim) from every link."""
    for link in document.css("a[href]"):
        params = URLSearchParams((link.attributes.get("href") or "").removeprefix("?"))
        params.delete("h")
        link.attrs["href"] = str(params)
