"""tap_oracle_wms"""
