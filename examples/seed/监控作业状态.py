# 监控作业状态 — from the 0.1.x README, unchanged (client.wait() replaces this loop).
import time

from desam_client import DeSAMClient

client = DeSAMClient(host="localhost", port=50051, api_key="sk-your-api-key")

job_id = client.submit_job(name="长时间作业", command="python long_task.py", cpu=4, memory_mb=8192)

# 轮询查询作业状态
while True:
    status = client.get_status(job_id)
    print(f"作业状态: {status}")

    if status in ["SUCCEEDED", "FAILED", "CANCELLED"]:
        break

    time.sleep(5)  # 每5秒查询一次

# 获取最终结果
job = client.get_info(job_id)
print(f"作业完成: {job.status}")
print(f"错误信息: {job.error_message}")
