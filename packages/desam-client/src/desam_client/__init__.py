"""DeSAM client SDK."""
