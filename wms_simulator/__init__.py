"""wms_simulator"""
